/*
 * Endpoints are checked here, before any socket exists, because libzmq either accepts a wrong
 * one silently (`ipc://tmp/x` is a relative path, resolved against whatever the working
 * directory is) or refuses it with a bare EINVAL that names nothing; both leave a user with a
 * misleading report. Accepted: ipc:///absolute/path and tcp://HOST:PORT (HOST a name, IPv4 or
 * [IPv6]; PORT 1-65535).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "internal.h"

static const char usage_hint[] = "write ipc:///absolute/path or tcp://host:port";

/* A host name or IPv4 address: letters, digits, '-', '.' and '_'. */
static int is_host_name(const char *host, size_t length) {
    if (length == 0) return 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != '_') return 0;
    }
    return 1;
}

static int is_ipv6_literal(const char *host, size_t length) {
    if (length == 0) return 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!isxdigit(c) && c != ':' && c != '.') return 0;
    }
    return 1;
}

static lomad_result parse_tcp(const char *endpoint, const char *address, lomad_error *err) {
    const char *port_text;
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (!close || !is_ipv6_literal(address + 1, (size_t)(close - address - 1)))
            return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "invalid endpoint '%s': a bracketed host must be an IPv6 address, as in tcp://[::1]:PORT",
                              endpoint);
        if (close[1] != ':')
            return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "invalid endpoint '%s': no port; write tcp://[%.*s]:PORT", endpoint,
                              (int)(close - address - 1), address + 1);
        port_text = close + 2;
    } else {
        const char *colon = strchr(address, ':');
        if (!colon)
            return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "invalid endpoint '%s': no port; write tcp://%s:PORT", endpoint, address);
        if (strchr(colon + 1, ':'))
            return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "invalid endpoint '%s': an IPv6 host goes in brackets, as in tcp://[::1]:PORT",
                              endpoint);
        if (!is_host_name(address, (size_t)(colon - address)))
            return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "invalid endpoint '%s': '%.*s' is not a host name or address", endpoint,
                              (int)(colon - address), address);
        port_text = colon + 1;
    }
    unsigned long port = 0;
    int digits = 0;
    for (const char *c = port_text; *c; c++, digits++) {
        if (!isdigit((unsigned char)*c) || digits >= 5) {
            port = 0;
            digits = -1;
            break;
        }
        port = port * 10 + (unsigned long)(*c - '0');
    }
    if (digits <= 0 || port < 1 || port > 65535)
        return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "invalid endpoint '%s': port '%s' is not a number from 1 to 65535", endpoint,
                          port_text);
    return LOMAD_OK;
}

lomad_result lomad_parse_endpoint(const char *endpoint, const char **ipc_path, lomad_error *err) {
    if (ipc_path) *ipc_path = NULL;
    if (!endpoint || !*endpoint) return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "the endpoint is empty; %s", usage_hint);
    const char *separator = strstr(endpoint, "://");
    if (!separator) {
        if (endpoint[0] == '/')
            return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "not an endpoint: '%s'; did you mean ipc://%s?", endpoint, endpoint);
        const char *colon = strrchr(endpoint, ':');
        if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
            return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "not an endpoint: '%s'; did you mean tcp://%s?", endpoint, endpoint);
        return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "not an endpoint: '%s'; %s", endpoint, usage_hint);
    }
    size_t scheme_length = (size_t)(separator - endpoint);
    const char *rest = separator + 3;
    if (scheme_length == 3 && strncmp(endpoint, "ipc", 3) == 0) {
        if (!*rest) return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "invalid endpoint '%s': no path; write ipc:///absolute/path", endpoint);
        if (rest[0] != '/')
            return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "ipc path '%s' is relative; write ipc:///%s", rest, rest);
        size_t limit = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
        if (strlen(rest) > limit)
            return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "ipc path '%s' is %zu bytes; a socket path has at most %zu", rest,
                              strlen(rest), limit);
        if (ipc_path) *ipc_path = rest;
        return LOMAD_OK;
    }
    if (scheme_length == 3 && strncmp(endpoint, "tcp", 3) == 0) {
        if (!*rest) return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "invalid endpoint '%s': no host; write tcp://host:port", endpoint);
        return parse_tcp(endpoint, rest, err);
    }
    return lomad_fail(err, LOMAD_ERR_ENDPOINT, 0, "unknown scheme '%.*s' in '%s'; %s", (int)scheme_length, endpoint, endpoint,
                      usage_hint);
}

lomad_result lomad_check_endpoint(const char *endpoint, lomad_error *err) {
    return lomad_parse_endpoint(endpoint, NULL, err);
}
