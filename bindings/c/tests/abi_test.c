/*
 * A plain C program that uses every function of vsync.h: proof that any C (or C++) program
 * can use the ABI. Built with -Wall -Wextra -Werror -pedantic by scripts/test-go.sh and
 * linked with libvsync_c.a; no network except a refused connection on 127.0.0.1.
 * With -DVSYNC_TESTING_HOOKS (scripts/test-go.sh, against a library built with the
 * `testing-hooks` feature) it also uses every hook of vsync_testing.h; without it (the release
 * check, against the shipped library) it uses only what the shipped library exports.
 * Exit status 0 = every check passed.
 */
#define _POSIX_C_SOURCE 200809L
#include "vsync.h"
#ifdef VSYNC_TESTING_HOOKS
#include "vsync_testing.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                            \
    do {                                                                       \
        checks++;                                                              \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            fprintf(stderr, "abi_test.c:%d: FAILED: %s\n", __LINE__, #cond);   \
        }                                                                      \
    } while (0)

/* Expect `rc` to be `kind`, the error to carry it and `code`, then free the error. */
static void expect_error(int32_t rc, vsync_error *err, int32_t kind, const char *code) {
    CHECK(rc == kind);
    CHECK(err != NULL);
    if (err != NULL) {
        CHECK(err->kind == kind);
        CHECK(err->code != NULL && strcmp(err->code, code) == 0);
        CHECK(err->message != NULL && strlen(err->message) > 0);
        vsync_error_free(err);
    }
}

/* --- a config blob built by hand: gzip with one stored deflate block, base64url ---------- */

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static char *make_blob(const char *json) {
    size_t n = strlen(json);
    size_t glen = 10 + 5 + n + 8;
    unsigned char *g = malloc(glen);
    const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(g, hdr, 10);
    g[10] = 1; /* BFINAL, stored */
    g[11] = (unsigned char)(n & 0xff);
    g[12] = (unsigned char)(n >> 8);
    g[13] = (unsigned char)(~n & 0xff);
    g[14] = (unsigned char)((~n >> 8) & 0xff);
    memcpy(g + 15, json, n);
    uint32_t crc = crc32_of((const unsigned char *)json, n);
    for (int i = 0; i < 4; i++) g[15 + n + i] = (unsigned char)(crc >> (8 * i));
    for (int i = 0; i < 4; i++) g[19 + n + i] = (unsigned char)((uint32_t)n >> (8 * i));
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *prefix = "vsync-cfg-v1:";
    char *out = malloc(strlen(prefix) + glen * 4 / 3 + 4);
    strcpy(out, prefix);
    char *o = out + strlen(prefix);
    size_t i = 0;
    for (; i + 2 < glen; i += 3) {
        uint32_t v = ((uint32_t)g[i] << 16) | ((uint32_t)g[i + 1] << 8) | g[i + 2];
        *o++ = tbl[(v >> 18) & 63];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = tbl[(v >> 6) & 63];
        *o++ = tbl[v & 63];
    }
    if (glen - i == 1) {
        uint32_t v = (uint32_t)g[i] << 16;
        *o++ = tbl[(v >> 18) & 63];
        *o++ = tbl[(v >> 12) & 63];
    } else if (glen - i == 2) {
        uint32_t v = ((uint32_t)g[i] << 16) | ((uint32_t)g[i + 1] << 8);
        *o++ = tbl[(v >> 18) & 63];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = tbl[(v >> 6) & 63];
    }
    *o = 0;
    free(g);
    return out;
}

/* A port on 127.0.0.1 that refuses connections: bind, never listen... simply use port 1. */
static const char *CONFIG_JSON =
    "{\"v\":1,\"endpoint\":\"http://127.0.0.1:1\",\"region\":\"us-east-1\",\"bucket\":\"b-c-test\","
    "\"accessKeyId\":\"AK\",\"secretAccessKey\":\"SK-not-a-real-secret\",\"prefix\":\"c/\","
    "\"env\":\"dev\",\"salt\":\"0123456789abcdefghijklmn\",\"iterations\":1000}";

static void test_version_and_names(void) {
    CHECK(vsync_abi_version() == VSYNC_ABI_VERSION);
    size_t n = 0;
    const char *const *names = vsync_bootstrap_variables(&n);
    CHECK(names != NULL && n == 4);
    if (names != NULL && n == 4) {
        CHECK(strcmp(names[0], "VSYNC_CONFIG_FILE") == 0);
        CHECK(strcmp(names[1], "VSYNC_CONFIG") == 0);
        CHECK(strcmp(names[2], "VSYNC_PASSPHRASE_FILE") == 0);
        CHECK(strcmp(names[3], "VSYNC_PASSPHRASE") == 0);
    }
    CHECK(vsync_bootstrap_variables(NULL) == names);
}

#ifdef VSYNC_TESTING_HOOKS
/* A handle opened from a payload (no S3) through every reading function. */
static void test_payload_handle(void) {
    const char *payload =
        "{\"kv\":{\"A\":\"va\",\"NUL\":\"x\\u0000y\",\"B\":\"vb\"},\"assets\":{\"cert\":\"AAEC\",\"empty\":\"\"}}";
    const char *dk[] = {"D", "A"};
    const char *dv[] = {"dv", "default-a"};
    vsync_options opts;
    memset(&opts, 0, sizeof opts);
    opts.default_keys = dk;
    opts.default_values = dv;
    opts.defaults_len = 2;

    vsync_handle *h = NULL;
    vsync_error *err = NULL;
    int32_t rc = vsync_testing_open_payload((const uint8_t *)payload, strlen(payload), "dev", NULL,
                                            &opts, &h, &err);
    CHECK(rc == VSYNC_OK && h != NULL && err == NULL);
    if (h == NULL) return;

    char *value = NULL;
    size_t len = 0;
    int32_t source = 0;
    /* vault wins over env */
    rc = vsync_get_env(h, "A", "from-env", &value, &len, &source, &err);
    CHECK(rc == VSYNC_OK && value != NULL && strcmp(value, "va") == 0 && len == 2);
    CHECK(source == VSYNC_SOURCE_VAULT);
    vsync_string_free(value);
    /* env (step 2); "" counts as set */
    rc = vsync_get_env(h, "E", "", &value, &len, &source, NULL);
    CHECK(rc == VSYNC_OK && value != NULL && len == 0 && source == VSYNC_SOURCE_ENV);
    vsync_string_free(value);
    /* default */
    rc = vsync_get_env(h, "D", NULL, &value, &len, &source, NULL);
    CHECK(rc == VSYNC_OK && value != NULL && strcmp(value, "dv") == 0 && source == VSYNC_SOURCE_DEFAULT);
    vsync_string_free(value);
    /* missing */
    rc = vsync_get_env(h, "X", NULL, &value, &len, &source, NULL);
    CHECK(rc == VSYNC_OK && value == NULL && len == 0 && source == VSYNC_SOURCE_MISSING);
    /* source only, nothing allocated */
    rc = vsync_get_env(h, "B", NULL, NULL, NULL, &source, NULL);
    CHECK(rc == VSYNC_OK && source == VSYNC_SOURCE_VAULT);
    /* a value with a NUL byte keeps its length */
    rc = vsync_get_env(h, "NUL", NULL, &value, &len, &source, NULL);
    CHECK(rc == VSYNC_OK && len == 3 && value != NULL && memcmp(value, "x\0y", 3) == 0);
    vsync_string_free(value);

    bool has = false;
    CHECK(vsync_has_env(h, "D", NULL, &has, NULL) == VSYNC_OK && has);
    CHECK(vsync_has_env(h, "X", NULL, &has, NULL) == VSYNC_OK && !has);
    CHECK(vsync_has_env(h, "X", "set", &has, NULL) == VSYNC_OK && has);

    uint8_t *bytes = NULL;
    rc = vsync_get_as_content(h, "cert", &bytes, &len, &err);
    CHECK(rc == VSYNC_OK && len == 3 && bytes != NULL && bytes[0] == 0 && bytes[1] == 1 && bytes[2] == 2);
    vsync_bytes_free(bytes);
    rc = vsync_get_as_content(h, "empty", &bytes, &len, NULL);
    CHECK(rc == VSYNC_OK && len == 0 && bytes != NULL);
    vsync_bytes_free(bytes);
    rc = vsync_get_as_content(h, "B", &bytes, &len, NULL);
    CHECK(rc == VSYNC_OK && len == 2 && memcmp(bytes, "vb", 2) == 0);
    vsync_bytes_free(bytes);
    rc = vsync_get_as_content(h, "nope", &bytes, &len, &err);
    CHECK(bytes == NULL);
    expect_error(rc, err, VSYNC_KIND_NOT_FOUND, "VSYNC_NOT_FOUND");

    char **keys = NULL;
    rc = vsync_keys(h, &keys, &len, NULL);
    CHECK(rc == VSYNC_OK && len == 3);
    if (rc == VSYNC_OK && len == 3) {
        CHECK(strcmp(keys[0], "A") == 0 && strcmp(keys[1], "NUL") == 0 && strcmp(keys[2], "B") == 0);
    }
    vsync_string_list_free(keys, len);

    /* the resolved view: vault > env > defaults, sorted by name; NULL env values are unset */
    {
        const char *en[] = {"E", "A", "D", "U", "E"};
        const char *ev[] = {"env-e", "env-a", "", NULL, "env-e2"};
        char **names = NULL, **values = NULL;
        size_t *lens = NULL;
        rc = vsync_environ(h, en, ev, 5, &names, &values, &lens, &len, &err);
        CHECK(rc == VSYNC_OK && len == 5 && names != NULL && values != NULL && lens != NULL);
        if (rc == VSYNC_OK && len == 5) {
            const char *want_n[] = {"A", "B", "D", "E", "NUL"};
            const char *want_v[] = {"va", "vb", "", "env-e2", "x\0y"};
            const size_t want_l[] = {2, 2, 0, 6, 3};
            for (size_t i = 0; i < 5; i++) {
                CHECK(strcmp(names[i], want_n[i]) == 0 && lens[i] == want_l[i]);
                CHECK(memcmp(values[i], want_v[i], want_l[i] + 1) == 0);
            }
        }
        vsync_string_list_free(names, len);
        vsync_string_list_free(values, len);
        vsync_size_list_free(lens, len);
        /* names only; no environment */
        rc = vsync_environ(h, NULL, NULL, 0, &names, NULL, NULL, &len, NULL);
        CHECK(rc == VSYNC_OK && len == 4 && strcmp(names[0], "A") == 0 && strcmp(names[2], "D") == 0);
        vsync_string_list_free(names, len);
        rc = vsync_environ(NULL, NULL, NULL, 0, &names, &values, &lens, &len, &err);
        CHECK(names == NULL && values == NULL && lens == NULL && len == 0);
        expect_error(rc, err, VSYNC_KIND_INVALID_ARGUMENT, "VSYNC_INVALID_ARGUMENT");
    }

    uint64_t gen = 99;
    CHECK(vsync_generation(h, &gen, NULL) == VSYNC_OK && gen == 0);
    rc = vsync_remote_generation(h, 0, &gen, &err);
    expect_error(rc, err, VSYNC_KIND_CONFIG_MISSING, "VSYNC_CONFIG_MISSING");
    bool fresh = true;
    rc = vsync_has_new_version(h, 0, &fresh, &err);
    CHECK(!fresh);
    expect_error(rc, err, VSYNC_KIND_CONFIG_MISSING, "VSYNC_CONFIG_MISSING");

    vsync_close(h);
    vsync_close(h); /* idempotent */
    rc = vsync_get_env(h, "A", NULL, &value, &len, &source, &err);
    CHECK(value == NULL);
    expect_error(rc, err, VSYNC_KIND_CLOSED, "VSYNC_CLOSED");
    rc = vsync_generation(h, &gen, &err);
    expect_error(rc, err, VSYNC_KIND_CLOSED, "VSYNC_CLOSED");
    char **closed_names = NULL;
    rc = vsync_environ(h, NULL, NULL, 0, &closed_names, NULL, NULL, &len, &err);
    CHECK(closed_names == NULL);
    expect_error(rc, err, VSYNC_KIND_CLOSED, "VSYNC_CLOSED");
    vsync_free(h);

    /* a corrupt payload */
    rc = vsync_testing_open_payload((const uint8_t *)"nope", 4, "dev", NULL, NULL, &h, &err);
    CHECK(h == NULL);
    expect_error(rc, err, VSYNC_KIND_BUNDLE_CORRUPT, "VSYNC_BUNDLE_CORRUPT");
}

static void test_envelope_and_seal(void) {
    uint8_t *out = NULL;
    size_t len = 0;
    vsync_error *err = NULL;
    uint8_t env[40];
    memset(env, 7, sizeof env);
    memcpy(env, "RQE1", 4);
    int32_t rc = vsync_testing_decrypt_envelope(env, 10, "pw", "0123456789abcdef", 1000, &out, &len, &err);
    expect_error(rc, err, VSYNC_KIND_BUNDLE_CORRUPT, "VSYNC_BUNDLE_CORRUPT");
    env[3] = '2';
    rc = vsync_testing_decrypt_envelope(env, sizeof env, "pw", "0123456789abcdef", 1000, &out, &len, &err);
    expect_error(rc, err, VSYNC_KIND_UNSUPPORTED_SPEC_VERSION, "VSYNC_UNSUPPORTED_SPEC_VERSION");
    env[3] = '1';
    rc = vsync_testing_decrypt_envelope(env, sizeof env, "pw", "0123456789abcdef", 1000, &out, &len, &err);
    CHECK(out == NULL && len == 0);
    expect_error(rc, err, VSYNC_KIND_WRONG_PASSPHRASE, "VSYNC_WRONG_PASSPHRASE");

    const char *sealed = "RQEM000120260429-103045{\"gen\":1}";
    char *ts = NULL;
    uint8_t *payload = NULL;
    rc = vsync_testing_unseal_manifest((const uint8_t *)sealed, strlen(sealed), "20260429-103045",
                                       &ts, &payload, &len, &err);
    CHECK(rc == VSYNC_OK && err == NULL);
    CHECK(ts != NULL && strcmp(ts, "20260429-103045") == 0);
    CHECK(len == 9 && payload != NULL && memcmp(payload, "{\"gen\":1}", 9) == 0);
    vsync_string_free(ts);
    vsync_bytes_free(payload);
    rc = vsync_testing_unseal_manifest((const uint8_t *)sealed, strlen(sealed), NULL, &ts, &payload, &len, NULL);
    CHECK(rc == VSYNC_OK);
    vsync_string_free(ts);
    vsync_bytes_free(payload);
    rc = vsync_testing_unseal_manifest((const uint8_t *)sealed, strlen(sealed), "20260429-103046",
                                       &ts, &payload, &len, &err);
    CHECK(ts == NULL && payload == NULL);
    expect_error(rc, err, VSYNC_KIND_BUNDLE_CORRUPT, "VSYNC_BUNDLE_CORRUPT");
}
#endif /* VSYNC_TESTING_HOOKS */

static void test_config_and_open(void) {
    char *blob = make_blob(CONFIG_JSON);
    vsync_error *err = NULL;
    int32_t rc;
#ifdef VSYNC_TESTING_HOOKS
    char *json = NULL;
    rc = vsync_testing_decode_config_json(blob, &json, &err);
    CHECK(rc == VSYNC_OK && json != NULL);
    if (json != NULL) {
        CHECK(strstr(json, "\"bucket\":\"b-c-test\"") != NULL);
        CHECK(strstr(json, "\"iterations\":1000") != NULL);
    }
    vsync_string_free(json);
    rc = vsync_testing_decode_config_json("{\"v\":1}", &json, &err);
    expect_error(rc, err, VSYNC_KIND_CONFIG_MISSING, "VSYNC_CONFIG_MISSING");
    rc = vsync_testing_decode_config_json("vsync-cfg-v1:ab+c", &json, &err);
    expect_error(rc, err, VSYNC_KIND_CONFIG_UNSUPPORTED_VERSION, "VSYNC_CONFIG_UNSUPPORTED_VERSION");
    rc = vsync_testing_decode_config_json("vsync-cfg-v1:!!!", &json, &err);
    expect_error(rc, err, VSYNC_KIND_BUNDLE_CORRUPT, "VSYNC_BUNDLE_CORRUPT");
#endif

    vsync_handle *h = NULL;
    vsync_options opts;
    memset(&opts, 0, sizeof opts);
    opts.timeout_ms = 5000;
    /* open_with: empty inputs, then a refused connection */
    rc = vsync_open_with(NULL, "pw", &opts, &h, &err);
    expect_error(rc, err, VSYNC_KIND_CONFIG_MISSING, "VSYNC_CONFIG_MISSING");
    rc = vsync_open_with(blob, "", NULL, &h, &err);
    expect_error(rc, err, VSYNC_KIND_CONFIG_MISSING, "VSYNC_CONFIG_MISSING");
    rc = vsync_open_with(blob, "pw", &opts, &h, &err);
    CHECK(h == NULL);
    if (err != NULL) CHECK(strstr(err->message, "SK-not-a-real-secret") == NULL);
    expect_error(rc, err, VSYNC_KIND_S3_UNREACHABLE, "VSYNC_S3_UNREACHABLE");

    /* open: an explicit bootstrap environment, then the (empty) process environment */
    const char *names[] = {"VSYNC_CONFIG", "VSYNC_PASSPHRASE", "VSYNC_CONFIG_FILE"};
    const char *values[] = {blob, "pw", NULL};
    opts.env_names = names;
    opts.env_values = values;
    opts.env_len = 3;
    rc = vsync_open(&opts, &h, &err);
    expect_error(rc, err, VSYNC_KIND_S3_UNREACHABLE, "VSYNC_S3_UNREACHABLE");
    opts.env_len = 0; /* non-NULL names, length 0: nothing is set */
    rc = vsync_open(&opts, &h, &err);
    expect_error(rc, err, VSYNC_KIND_CONFIG_MISSING, "VSYNC_CONFIG_MISSING");
    unsetenv("VSYNC_CONFIG");
    unsetenv("VSYNC_CONFIG_FILE");
    rc = vsync_open(NULL, &h, &err);
    CHECK(err != NULL && strstr(err->message, "VSYNC_CONFIG") != NULL);
    expect_error(rc, err, VSYNC_KIND_CONFIG_MISSING, "VSYNC_CONFIG_MISSING");

    /* invalid arguments are reported, not crashed on */
    rc = vsync_open_with(blob, "pw", NULL, NULL, &err);
    expect_error(rc, err, VSYNC_ERR_INVALID_ARGUMENT, "VSYNC_INVALID_ARGUMENT");
    rc = vsync_get_env(NULL, "A", NULL, NULL, NULL, NULL, &err);
    expect_error(rc, err, VSYNC_ERR_INVALID_ARGUMENT, "VSYNC_INVALID_ARGUMENT");
    CHECK(vsync_generation(NULL, NULL, NULL) == VSYNC_ERR_INVALID_ARGUMENT);
    vsync_close(NULL);
    vsync_free(NULL);
    vsync_string_free(NULL);
    vsync_bytes_free(NULL);
    vsync_string_list_free(NULL, 0);
    vsync_error_free(NULL);
    free(blob);
}

#ifdef VSYNC_TESTING_HOOKS
static void test_bootstrap(void) {
    char dir[] = "/tmp/vsync-abi-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/passphrase", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL) return;
    fputs(" secret pw\n", f);
    fclose(f);
    chmod(path, 0644);

    const char *names[] = {"VSYNC_CONFIG", "VSYNC_PASSPHRASE_FILE", "VSYNC_PASSPHRASE"};
    const char *values[] = {"cfg", path, NULL};
    char *config = NULL, *pass = NULL, **warnings = NULL;
    size_t nw = 0;
    vsync_error *err = NULL;
    int32_t rc = vsync_testing_resolve_bootstrap(names, values, 3, &config, &pass, &warnings, &nw, &err);
    CHECK(rc == VSYNC_OK && err == NULL);
    CHECK(config != NULL && strcmp(config, "cfg") == 0);
    CHECK(pass != NULL && strcmp(pass, " secret pw") == 0);
    CHECK(nw == 1 && warnings != NULL && strstr(warnings[0], "mode 0644") != NULL);
    vsync_string_free(config);
    vsync_string_free(pass);
    vsync_string_list_free(warnings, nw);

    chmod(path, 0666);
    rc = vsync_testing_resolve_bootstrap(names, values, 3, &config, &pass, &warnings, &nw, &err);
    CHECK(config == NULL && pass == NULL && warnings == NULL && nw == 0);
    CHECK(err != NULL && strstr(err->message, "0666") != NULL);
    expect_error(rc, err, VSYNC_KIND_CONFIG_MISSING, "VSYNC_CONFIG_MISSING");
    unlink(path);
    rmdir(dir);
}
#endif /* VSYNC_TESTING_HOOKS */

/* Every kind the core lists, with its code; with the hooks, each comes back through the normal
   error path with its own code. */
static void test_error_kinds(void) {
    size_t n = 0;
    const vsync_error_kind_info *kinds = vsync_error_kinds(&n);
    CHECK(kinds != NULL && n == 11);
    CHECK(vsync_error_kinds(NULL) == kinds);
    int taxonomy = 0;
    for (size_t i = 0; kinds != NULL && i < n; i++) {
        taxonomy += kinds[i].taxonomy ? 1 : 0;
        CHECK(strncmp(kinds[i].code, "VSYNC_", 6) == 0);
        CHECK(strlen(kinds[i].class_name) > 5);
#ifdef VSYNC_TESTING_HOOKS
        vsync_error *err = NULL;
        int32_t rc = vsync_testing_raise(kinds[i].kind, &err);
        expect_error(rc, err, kinds[i].kind, kinds[i].code);
        CHECK(vsync_testing_raise(kinds[i].kind, NULL) == kinds[i].kind);
#endif
    }
    CHECK(taxonomy == 7);
    CHECK(n >= 11 && kinds[0].kind == VSYNC_KIND_CONFIG_MISSING && strcmp(kinds[0].code, "VSYNC_CONFIG_MISSING") == 0);
    CHECK(n >= 11 && kinds[9].kind == VSYNC_KIND_INTERNAL && kinds[9].kind == VSYNC_ERR_INTERNAL);
    CHECK(n >= 11 && kinds[10].kind == VSYNC_KIND_INVALID_ARGUMENT && kinds[10].kind == VSYNC_ERR_INVALID_ARGUMENT);
#ifdef VSYNC_TESTING_HOOKS
    vsync_error *err = NULL;
    int32_t rc = vsync_testing_raise(12345, &err);
    expect_error(rc, err, VSYNC_ERR_INVALID_ARGUMENT, "VSYNC_INVALID_ARGUMENT");
#endif
}

int main(void) {
    test_version_and_names();
    test_error_kinds();
#ifdef VSYNC_TESTING_HOOKS
    test_payload_handle();
    test_envelope_and_seal();
    test_bootstrap();
#endif
    test_config_and_open();
    if (failures != 0) {
        fprintf(stderr, "abi_test: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("abi_test: all %d checks passed\n", checks);
    return 0;
}
