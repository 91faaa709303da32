/*
 * lomad-compress: reads a KV safetensors file, compresses it through a running lomad and writes
 * the memory (keys, values, positions) to a safetensors file. Exit statuses and messages follow
 * the policy every lomad client shares (Examples/README.md, "Timeouts and errors"), so a script
 * can tell a wrong endpoint from a missing daemon from a refused request.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_file.h"
#include "lomad_client.h"

enum {
    EXIT_OK = 0,
    EXIT_UNEXPECTED = 1,   /* e.g. the output file cannot be written */
    EXIT_ENDPOINT = 2,     /* invalid endpoint */
    EXIT_NO_DAEMON = 3,    /* no socket file, connection refused, or no reply in time */
    EXIT_STATUS = 4,       /* lomad answered with an error status */
    EXIT_NOT_ADMITTED = 5, /* CURVE key refused */
    EXIT_USAGE = 64,       /* bad flags (EX_USAGE) */
    EXIT_INPUT = 65        /* bad input file (EX_DATAERR) */
};

static const char program[] = "lomad-compress";

static void usage(FILE *out) {
    fprintf(out,
            "usage: lomad-compress --endpoint ENDPOINT --input KV.safetensors --output MEMORY.safetensors\n"
            "                      [--model NAME] [--sequence NAME] [--position P]\n"
            "                      [--context CONTEXT.safetensors] [--context-layout heads_major|tokens_major]\n"
            "                      [--layout heads_major|tokens_major] [--output-dtype f32|f16|bf16]\n"
            "                      [--method loma|mean_pool|strided]\n"
            "                      [--timeout-ms N] [--retries N]\n"
            "                      [--server-key-file FILE --secret-key-file FILE]\n"
            "\n"
            "Compresses the keys and values of KV.safetensors ([layers, kv_heads, tokens, head_dim], or\n"
            "tokens-major with --layout tokens_major) through lomad and writes keys, values (heads-major)\n"
            "and positions to MEMORY.safetensors.\n"
            "\n"
            "  --endpoint        ipc:///absolute/path or tcp://host:port\n"
            "  --context         keys and values the segments attend to first (any number of tokens),\n"
            "                    in --context-layout (default: the input's --layout)\n"
            "  --timeout-ms      per attempt (default %d); --retries: re-sends of a request that is safe\n"
            "                    to repeat (default %d; a compress into --sequence is never re-sent)\n"
            "  --server-key-file lomad's public CURVE key file, --secret-key-file this client's secret\n"
            "                    key file (as lomactl writes them), for a CURVE endpoint\n"
            "\n"
            "exit status: 0 ok; 1 unexpected failure (e.g. cannot write the output); 2 invalid endpoint;\n"
            "3 no daemon answered (no socket file, refused, timeout, or the connection closed during\n"
            "the handshake: connection limit reached, CURVE needed or another server key, not lomad);\n"
            "4 lomad answered with an error status; 5 not admitted (CURVE key refused, CURVE mismatch);\n"
            "64 usage error; 65 bad input file.\n",
            LOMAD_DEFAULT_TIMEOUT_MS, LOMAD_DEFAULT_RETRIES);
}

static int usage_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* "lomad-compress: usage: WHY (see --help)", and EX_USAGE. */
static int usage_error(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "%s: usage: ", program);
    vfprintf(stderr, format, arguments);
    fprintf(stderr, " (see --help)\n");
    va_end(arguments);
    return EXIT_USAGE;
}

static int parse_count(const char *text, const char *option, unsigned long long maximum, unsigned long long *value) {
    char *end = NULL;
    errno = 0;
    unsigned long long parsed = strtoull(text, &end, 10);
    if (errno != 0 || !end || *end != '\0' || text[0] == '-' || text[0] == '\0' || parsed > maximum) {
        fprintf(stderr, "%s: usage: %s needs a whole number up to %llu, got '%s'\n", program, option, maximum, text);
        return -1;
    }
    *value = parsed;
    return 0;
}

static int exit_status(lomad_result result) {
    switch (result) {
    case LOMAD_ERR_ENDPOINT: return EXIT_ENDPOINT;
    case LOMAD_ERR_UNAVAILABLE:
    case LOMAD_ERR_TIMEOUT: return EXIT_NO_DAEMON;
    case LOMAD_ERR_STATUS: return EXIT_STATUS;
    case LOMAD_ERR_NOT_ADMITTED: return EXIT_NOT_ADMITTED;
    default: return EXIT_UNEXPECTED;
    }
}

/* One of `names` (NULL-terminated); its index, or -1. */
static int choose(const char *value, const char *const *names) {
    for (int i = 0; names[i]; i++)
        if (strcmp(value, names[i]) == 0) return i;
    return -1;
}

int main(int argc, char **argv) {
    const char *endpoint = NULL, *input = NULL, *output = NULL, *server_key_file = NULL, *secret_key_file = NULL;
    const char *context_path = NULL;
    int context_layout = -1; /* -1: the input's */
    lomad_compress_options options = {0};
    lomad_layout layout = LOMAD_LAYOUT_HEADS_MAJOR;
    unsigned long long timeout_ms = LOMAD_DEFAULT_TIMEOUT_MS, retries = LOMAD_DEFAULT_RETRIES, position = 0;
    options.output_layout = LOMAD_LAYOUT_HEADS_MAJOR; /* memory files are heads-major, as KV files */
    static const char *const layouts[] = {"heads_major", "tokens_major", NULL};
    static const char *const dtypes[] = {"f32", "f16", "bf16", NULL};
    static const char *const methods[] = {"loma", "mean_pool", "strided", NULL};

    for (int i = 1; i < argc; i++) {
        const char *option = argv[i];
        if (strcmp(option, "--help") == 0 || strcmp(option, "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
        if (i + 1 >= argc) return usage_error("%s needs a value", option);
        const char *value = argv[++i];
        int choice;
        if (strcmp(option, "--endpoint") == 0) endpoint = value;
        else if (strcmp(option, "--input") == 0) input = value;
        else if (strcmp(option, "--output") == 0) output = value;
        else if (strcmp(option, "--model") == 0) options.model = value;
        else if (strcmp(option, "--sequence") == 0) options.sequence = value;
        else if (strcmp(option, "--context") == 0) context_path = value;
        else if (strcmp(option, "--server-key-file") == 0) server_key_file = value;
        else if (strcmp(option, "--secret-key-file") == 0) secret_key_file = value;
        else if (strcmp(option, "--position") == 0) {
            if (parse_count(value, option, UINT64_MAX, &position) != 0) return EXIT_USAGE;
            options.has_position = 1;
            options.position = position;
        } else if (strcmp(option, "--layout") == 0) {
            if ((choice = choose(value, layouts)) < 0) return usage_error("--layout must be heads_major or tokens_major, got '%s'", value);
            layout = choice == 0 ? LOMAD_LAYOUT_HEADS_MAJOR : LOMAD_LAYOUT_TOKENS_MAJOR;
        } else if (strcmp(option, "--context-layout") == 0) {
            if ((choice = choose(value, layouts)) < 0)
                return usage_error("--context-layout must be heads_major or tokens_major, got '%s'", value);
            context_layout = choice == 0 ? LOMAD_LAYOUT_HEADS_MAJOR : LOMAD_LAYOUT_TOKENS_MAJOR;
        } else if (strcmp(option, "--output-dtype") == 0) {
            if ((choice = choose(value, dtypes)) < 0) return usage_error("--output-dtype must be f32, f16 or bf16, got '%s'", value);
            options.output_dtype = (lomad_dtype)(LOMAD_DTYPE_F32 + choice);
        } else if (strcmp(option, "--method") == 0) {
            if ((choice = choose(value, methods)) < 0)
                return usage_error("--method must be loma, mean_pool or strided, got '%s'", value);
            options.method = (lomad_method)choice;
        } else if (strcmp(option, "--timeout-ms") == 0) {
            if (parse_count(value, option, 3600000, &timeout_ms) != 0) return EXIT_USAGE;
            if (timeout_ms == 0) return usage_error("--timeout-ms must be positive");
        } else if (strcmp(option, "--retries") == 0) {
            if (parse_count(value, option, 100, &retries) != 0) return EXIT_USAGE;
        } else {
            return usage_error("unknown option %s", option);
        }
    }
    if (!endpoint || !input || !output) return usage_error("--endpoint, --input and --output are required");
    if (!server_key_file != !secret_key_file)
        return usage_error("--server-key-file and --secret-key-file go together");

    /* The endpoint first: a wrong one is reported before any file is read. */
    lomad_error error = {0};
    if (lomad_check_endpoint(endpoint, &error) != LOMAD_OK) {
        fprintf(stderr, "%s: --endpoint: %s\n", program, error.message);
        return EXIT_ENDPOINT;
    }
    lomad_client_options client_options = lomad_client_default_options();
    client_options.timeout_ms = (int)timeout_ms;
    client_options.retries = (int)retries;
    char server_key[LOMAD_KEY_SIZE], secret_key[LOMAD_KEY_SIZE];
    if (server_key_file) {
        if (lomad_read_key_file(server_key_file, server_key, &error) != LOMAD_OK ||
            lomad_read_key_file(secret_key_file, secret_key, &error) != LOMAD_OK) {
            fprintf(stderr, "%s: keys: %s\n", program, error.message);
            return EXIT_USAGE;
        }
        client_options.curve_server_key = server_key;
        client_options.curve_secret_key = secret_key;
    }

    char message[512];
    kv_file file;
    if (kv_file_read(input, layout, &file, message, sizeof message) != 0) {
        fprintf(stderr, "%s: input: %s\n", program, message);
        return EXIT_INPUT;
    }
    kv_file context = {0};
    if (context_path) {
        lomad_layout layout_of_context = context_layout < 0 ? layout : (lomad_layout)context_layout;
        if (kv_file_read(context_path, layout_of_context, &context, message, sizeof message) != 0) {
            fprintf(stderr, "%s: context: %s\n", program, message);
            kv_file_release(&file);
            return EXIT_INPUT;
        }
        options.context_keys = &context.keys;
        options.context_values = &context.values;
    }
    if (kv_file_check_output(output, message, sizeof message) != 0) {
        fprintf(stderr, "%s: output: %s\n", program, message);
        kv_file_release(&context);
        kv_file_release(&file);
        return EXIT_UNEXPECTED;
    }
    lomad_client *client = lomad_client_new(endpoint, &client_options, &error);
    memset(secret_key, 0, sizeof secret_key);
    if (!client) {
        fprintf(stderr, "%s: connect: %s\n", program, error.message);
        kv_file_release(&context);
        kv_file_release(&file);
        return exit_status(error.result);
    }
    lomad_memory *memory = NULL;
    lomad_result result = lomad_compress(client, &file.keys, &file.values, &options, &memory, &error);
    int status = EXIT_OK;
    if (result != LOMAD_OK) {
        fprintf(stderr, "%s: compress: %s\n", program, error.message);
        status = exit_status(result);
    } else if (kv_file_write(output, &memory->keys, &memory->values, memory->positions, memory->n_positions, message,
                             sizeof message) != 0) {
        fprintf(stderr, "%s: output: %s\n", program, message);
        status = EXIT_UNEXPECTED;
    } else {
        printf("compressed %llu tokens into %zu memory tokens (%u segment%s) -> %s\n",
               (unsigned long long)file.keys.shape[layout == LOMAD_LAYOUT_TOKENS_MAJOR ? 1 : 2], memory->n_positions,
               memory->segments, memory->segments == 1 ? "" : "s", output);
    }
    lomad_free(memory);
    lomad_client_free(client);
    kv_file_release(&context);
    kv_file_release(&file);
    return status;
}
