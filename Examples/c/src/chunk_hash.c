/*
 * Chained prefix chunk hashes (loma.v1 PublishPrefixRequest): hash i = sha256(hash i-1 || token
 * ids of chunk i as little-endian u32), the first parent 32 zero bytes. SHA-256 (FIPS 180-4) is
 * written out here so that embedding the client needs no crypto library beyond libzmq's.
 */
#include <string.h>

#include "internal.h"

typedef struct {
    uint32_t state[8];
    uint8_t block[64];
    size_t used;
    uint64_t length;
} sha256;

static const uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
    0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
    0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotate(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void compress_block(sha256 *h, const uint8_t *block) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotate(w[i - 15], 7) ^ rotate(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotate(w[i - 2], 17) ^ rotate(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h->state[0], b = h->state[1], c = h->state[2], d = h->state[3];
    uint32_t e = h->state[4], f = h->state[5], g = h->state[6], k = h->state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)) + ((e & f) ^ (~e & g)) + round_constants[i] + w[i];
        uint32_t t2 = (rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h->state[0] += a, h->state[1] += b, h->state[2] += c, h->state[3] += d;
    h->state[4] += e, h->state[5] += f, h->state[6] += g, h->state[7] += k;
}

static void sha256_init(sha256 *h) {
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(h->state, initial, sizeof initial);
    h->used = 0;
    h->length = 0;
}

static void sha256_update(sha256 *h, const uint8_t *data, size_t size) {
    h->length += size;
    while (size > 0) {
        size_t take = 64 - h->used < size ? 64 - h->used : size;
        memcpy(h->block + h->used, data, take);
        h->used += take;
        data += take;
        size -= take;
        if (h->used == 64) {
            compress_block(h, h->block);
            h->used = 0;
        }
    }
}

static void sha256_final(sha256 *h, uint8_t digest[32]) {
    uint64_t bits = h->length * 8;
    uint8_t pad = 0x80;
    sha256_update(h, &pad, 1);
    pad = 0;
    while (h->used != 56) sha256_update(h, &pad, 1);
    uint8_t length[8];
    for (int i = 0; i < 8; i++) length[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(h, length, 8);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(h->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(h->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(h->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)h->state[i];
    }
}

size_t lomad_chunk_hashes(const uint32_t *token_ids, size_t n_tokens, size_t chunk_length,
                          uint8_t (*hashes)[LOMAD_HASH_SIZE]) {
    if (!token_ids || !hashes || chunk_length == 0) return 0;
    size_t chunks = n_tokens / chunk_length;
    uint8_t parent[LOMAD_HASH_SIZE] = {0};
    for (size_t chunk = 0; chunk < chunks; chunk++) {
        sha256 h;
        sha256_init(&h);
        sha256_update(&h, parent, sizeof parent);
        for (size_t i = 0; i < chunk_length; i++) {
            uint32_t id = token_ids[chunk * chunk_length + i];
            uint8_t bytes[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)};
            sha256_update(&h, bytes, sizeof bytes);
        }
        sha256_final(&h, hashes[chunk]);
        memcpy(parent, hashes[chunk], sizeof parent);
    }
    return chunks;
}
