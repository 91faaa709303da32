/* CURVE key files as lomactl writes them: '#' comment lines and one 40-character Z85 key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "internal.h"

/* Trims surrounding white space in place. */
static char *trim(char *line) {
    while (*line == ' ' || *line == '\t') line++;
    size_t length = strlen(line);
    while (length > 0 && strchr(" \t\r\n", line[length - 1])) line[--length] = '\0';
    return line;
}

lomad_result lomad_read_key_file(const char *path, char key[LOMAD_KEY_SIZE], lomad_error *err) {
    if (!path || !key) return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "lomad_read_key_file needs a path and a key buffer");
    FILE *file = fopen(path, "r");
    if (!file) return lomad_fail(err, LOMAD_ERR_SYSTEM, 0, "CURVE key file %s: %s", path, strerror(errno));
    char line[256];
    int keys = 0, bad = 0;
    while (fgets(line, sizeof line, file)) {
        char *text = trim(line);
        if (!*text || *text == '#') continue;
        uint8_t decoded[32];
        if (strlen(text) != LOMAD_KEY_SIZE - 1 || !zmq_z85_decode(decoded, text)) bad = 1;
        else if (keys == 0) memcpy(key, text, LOMAD_KEY_SIZE);
        keys++;
    }
    fclose(file);
    if (keys != 1 || bad)
        return lomad_fail(err, LOMAD_ERR_ARGUMENT, 0, "CURVE key file %s: expected exactly one 40-character Z85 key line", path);
    return LOMAD_OK;
}
