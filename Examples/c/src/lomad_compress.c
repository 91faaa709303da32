/*
 * lomad-compress: reads a KV safetensors file, compresses it through a running lomad and writes
 * the memory (keys, values heads-major, positions) to a safetensors file.
 *
 * Exit status: 0 done, 1 bad usage or file, 2 client/system failure, 3 no reply (timeout),
 * 4 the daemon answered with an error status, 5 a malformed reply; like lomactl, scripts can
 * tell "daemon down" from "request refused".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_file.h"
#include "lomad_client.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: lomad-compress --endpoint ENDPOINT --input KV.safetensors --output MEMORY.safetensors\n"
            "                      [--model NAME] [--sequence NAME] [--position P]\n"
            "                      [--layout heads_major|tokens_major] [--output-dtype f32|f16|bf16]\n"
            "                      [--method loma|mean_pool|strided]\n"
            "                      [--timeout-ms N] [--retries N]\n");
}

static int parse_count(const char *text, const char *option, unsigned long long maximum, unsigned long long *value) {
    char *end = NULL;
    errno = 0;
    unsigned long long parsed = strtoull(text, &end, 10);
    if (errno != 0 || !end || *end != '\0' || text[0] == '-' || text[0] == '\0' || parsed > maximum) {
        fprintf(stderr, "lomad-compress: %s needs a whole number up to %llu, got '%s'\n", option, maximum, text);
        return -1;
    }
    *value = parsed;
    return 0;
}

static int exit_status(lomad_result result) {
    switch (result) {
    case LOMAD_ERR_TIMEOUT: return 3;
    case LOMAD_ERR_STATUS: return 4;
    case LOMAD_ERR_MALFORMED: return 5;
    case LOMAD_ERR_ARGUMENT: return 1;
    default: return 2;
    }
}

int main(int argc, char **argv) {
    const char *endpoint = NULL, *input = NULL, *output = NULL;
    lomad_compress_options options = {0};
    lomad_layout layout = LOMAD_LAYOUT_HEADS_MAJOR;
    unsigned long long timeout_ms = 30000, retries = 2, position = 0;
    options.output_layout = LOMAD_LAYOUT_HEADS_MAJOR; /* KV files are heads-major (DESIGN.md 6) */

    for (int i = 1; i < argc; i++) {
        const char *option = argv[i];
        if (strcmp(option, "--help") == 0 || strcmp(option, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "lomad-compress: %s needs a value\n", option);
            usage(stderr);
            return 1;
        }
        const char *value = argv[++i];
        if (strcmp(option, "--endpoint") == 0) endpoint = value;
        else if (strcmp(option, "--input") == 0) input = value;
        else if (strcmp(option, "--output") == 0) output = value;
        else if (strcmp(option, "--model") == 0) options.model = value;
        else if (strcmp(option, "--sequence") == 0) options.sequence = value;
        else if (strcmp(option, "--position") == 0) {
            if (parse_count(value, option, UINT64_MAX, &position) != 0) return 1;
            options.has_position = 1;
            options.position = position;
        } else if (strcmp(option, "--layout") == 0) {
            if (strcmp(value, "heads_major") == 0) layout = LOMAD_LAYOUT_HEADS_MAJOR;
            else if (strcmp(value, "tokens_major") == 0) layout = LOMAD_LAYOUT_TOKENS_MAJOR;
            else {
                fprintf(stderr, "lomad-compress: --layout must be heads_major or tokens_major, got '%s'\n", value);
                return 1;
            }
        } else if (strcmp(option, "--output-dtype") == 0) {
            if (strcmp(value, "f32") == 0) options.output_dtype = LOMAD_DTYPE_F32;
            else if (strcmp(value, "f16") == 0) options.output_dtype = LOMAD_DTYPE_F16;
            else if (strcmp(value, "bf16") == 0) options.output_dtype = LOMAD_DTYPE_BF16;
            else {
                fprintf(stderr, "lomad-compress: --output-dtype must be f32, f16 or bf16, got '%s'\n", value);
                return 1;
            }
        } else if (strcmp(option, "--method") == 0) {
            if (strcmp(value, "loma") == 0) options.method = LOMAD_METHOD_LOMA;
            else if (strcmp(value, "mean_pool") == 0) options.method = LOMAD_METHOD_MEAN_POOL;
            else if (strcmp(value, "strided") == 0) options.method = LOMAD_METHOD_STRIDED;
            else {
                fprintf(stderr, "lomad-compress: --method must be loma, mean_pool or strided, got '%s'\n", value);
                return 1;
            }
        } else if (strcmp(option, "--timeout-ms") == 0) {
            if (parse_count(value, option, 3600000, &timeout_ms) != 0 || timeout_ms == 0) {
                if (timeout_ms == 0) fprintf(stderr, "lomad-compress: --timeout-ms must be positive\n");
                return 1;
            }
        } else if (strcmp(option, "--retries") == 0) {
            if (parse_count(value, option, 100, &retries) != 0) return 1;
        } else {
            fprintf(stderr, "lomad-compress: unknown option %s\n", option);
            usage(stderr);
            return 1;
        }
    }
    if (!endpoint || !input || !output) {
        fprintf(stderr, "lomad-compress: --endpoint, --input and --output are required\n");
        usage(stderr);
        return 1;
    }

    char message[512];
    kv_file file;
    if (kv_file_read(input, layout, &file, message, sizeof message) != 0) {
        fprintf(stderr, "lomad-compress: %s\n", message);
        return 1;
    }
    lomad_error error = {0};
    lomad_client *client = lomad_client_new(endpoint, (int)timeout_ms, (int)retries, &error);
    if (!client) {
        fprintf(stderr, "lomad-compress: %s\n", error.message);
        kv_file_release(&file);
        return exit_status(error.result);
    }
    lomad_memory memory;
    lomad_result result = lomad_compress(client, &file.keys, &file.values, &options, &memory, &error);
    int status = 0;
    if (result != LOMAD_OK) {
        fprintf(stderr, "lomad-compress: %s\n", error.message);
        status = exit_status(result);
    } else {
        if (kv_file_write(output, &memory.keys, &memory.values, memory.positions, memory.n_positions, message,
                          sizeof message) != 0) {
            fprintf(stderr, "lomad-compress: %s\n", message);
            status = 1;
        } else {
            printf("compressed %llu tokens into %zu memory tokens (%u segment%s) -> %s\n",
                   (unsigned long long)file.keys.shape[layout == LOMAD_LAYOUT_TOKENS_MAJOR ? 1 : 2], memory.n_positions,
                   memory.segments, memory.segments == 1 ? "" : "s", output);
        }
        lomad_memory_release(&memory);
    }
    lomad_client_free(client);
    kv_file_release(&file);
    return status;
}
