/*
 * vsync.h: the C ABI of the vsync runtime library (crate `vsync-c`, libvsync_c.a / .so).
 *
 * Hand-written; `bindings/c/tests/abi_test.c` is compiled against it with
 * -Wall -Wextra -Werror -pedantic and calls every function, and scripts/test-go.sh checks
 * that the functions declared here and the symbols the library exports are the same set.
 *
 * Link: libvsync_c.a -ldl -lm -lpthread   (build: cargo build --release -p vsync-c)
 *
 * CONVENTIONS
 * - Strings passed IN are NUL-terminated UTF-8, BORROWED for the duration of the call only
 *   (the library copies what it keeps). Invalid UTF-8 is replaced with U+FFFD.
 * - Every pointer the library hands OUT is OWNED BY THE CALLER and must be released with the
 *   matching free function named at each declaration:
 *       char *           -> vsync_string_free
 *       uint8_t *        -> vsync_bytes_free
 *       char ** (list)   -> vsync_string_list_free(list, len)
 *       vsync_error *    -> vsync_error_free
 *       vsync_handle *   -> vsync_free   (after an optional vsync_close)
 *   Never release them with free(3). Strings and buffers are zeroed when freed. Every
 *   returned string is NUL-terminated AND has its length reported where a value may contain
 *   a NUL byte (values, bytes). All free functions accept NULL.
 * - Out pointers marked "optional" may be NULL; the others are required. Out pointers are
 *   always written (NULL / 0) before the function does anything else.
 * - Status: every fallible function returns VSYNC_OK (0) or the error's `kind`:
 *   a vsync_error_kind (1..9, the core's ErrorKind::number()) or a negative VSYNC_ERR_*.
 *   When `out_error` is non-NULL and the call fails, `*out_error` receives an error the caller
 *   frees with vsync_error_free; on success `*out_error` is NULL. Pass NULL to ignore details.
 * - No panic crosses the boundary: a bug inside the library is reported as VSYNC_ERR_INTERNAL.
 *
 * THREADS
 * - A handle may be used from many threads at once (reads, vsync_close, remote generation).
 * - vsync_free must not race with any other call on the same handle: the caller guarantees
 *   that no call is in flight and none will start (the Go binding does so with a reference
 *   count). vsync_close is safe at any time; calls after it fail with VSYNC_KIND_CLOSED.
 */
#ifndef VSYNC_H
#define VSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Incremented on any incompatible change of this header. Compare with vsync_abi_version(). */
#define VSYNC_ABI_VERSION 1

#define VSYNC_OK 0
/* A required pointer was NULL (not one of the core's classes). */
#define VSYNC_ERR_INVALID_ARGUMENT (-1)
/* A panic was caught at the boundary: a bug in the library. */
#define VSYNC_ERR_INTERNAL (-2)

/* The core's error classes (ErrorKind::number()). 1..7 are the SPEC §9 taxonomy. */
typedef enum vsync_error_kind {
    VSYNC_KIND_CONFIG_MISSING = 1,             /* ConfigMissingError */
    VSYNC_KIND_CONFIG_UNSUPPORTED_VERSION = 2, /* ConfigUnsupportedVersionError */
    VSYNC_KIND_S3_UNREACHABLE = 3,             /* S3UnreachableError (also time-outs) */
    VSYNC_KIND_MANIFEST_NOT_FOUND = 4,         /* ManifestNotFoundError */
    VSYNC_KIND_WRONG_PASSPHRASE = 5,           /* WrongPassphraseError */
    VSYNC_KIND_BUNDLE_CORRUPT = 6,             /* BundleCorruptError */
    VSYNC_KIND_UNSUPPORTED_SPEC_VERSION = 7,   /* UnsupportedSpecVersionError */
    VSYNC_KIND_CLOSED = 8,                     /* the handle was closed (not in the taxonomy) */
    VSYNC_KIND_NOT_FOUND = 9                   /* get_as_content: no such asset or key */
} vsync_error_kind;

/* Where a value came from (the locked chain: vault -> env -> default -> missing). */
typedef enum vsync_source {
    VSYNC_SOURCE_VAULT = 1,
    VSYNC_SOURCE_ENV = 2,
    VSYNC_SOURCE_DEFAULT = 3,
    VSYNC_SOURCE_MISSING = 4
} vsync_source;

/*
 * An error. Owned by the caller: release with vsync_error_free (which frees `code` and
 * `message` too; do not free them separately). The message never contains a secret.
 */
typedef struct vsync_error {
    int32_t kind;  /* vsync_error_kind, or a negative VSYNC_ERR_* */
    char *code;    /* stable code: "VSYNC_CONFIG_MISSING", ..., "VSYNC_INVALID_ARGUMENT" */
    char *message; /* what happened and what to do */
} vsync_error;

/* An open vault. Opaque. */
typedef struct vsync_handle vsync_handle;

/*
 * Options for vsync_open / vsync_open_with / vsync_testing_open_payload. Every pointer is
 * borrowed for the call only. A NULL `const vsync_options *` means all defaults.
 */
typedef struct vsync_options {
    /* Step 3 of the chain: `defaults_len` keys and values (no NULL entries). */
    const char *const *default_keys;
    const char *const *default_values;
    size_t defaults_len;
    /* Bound on the open (and on each remote-generation call) in ms; 0 = 30 s default. */
    uint64_t timeout_ms;
    /*
     * vsync_open only: the bootstrap environment (see vsync_bootstrap_variables). When
     * `env_names` is NULL the library reads the process environment (getenv). Otherwise
     * exactly these `env_len` variables exist; a NULL entry in `env_values` means unset.
     */
    const char *const *env_names;
    const char *const *env_values;
    size_t env_len;
} vsync_options;

/* The ABI version of the linked library (VSYNC_ABI_VERSION it was built with). */
uint32_t vsync_abi_version(void);

/*
 * The names of the variables vsync_open reads (VSYNC_CONFIG_FILE, VSYNC_CONFIG, ...), in
 * the order it reads them. Returns a static array owned by the library (never free it);
 * `*out_len` (optional) receives its length.
 */
const char *const *vsync_bootstrap_variables(size_t *out_len);

/*
 * Open from the bootstrap environment (VSYNC_CONFIG[_FILE], VSYNC_PASSPHRASE[_FILE]): one S3
 * round trip, decryption in memory. `options` may be NULL. On success `*out_handle` is a new
 * handle owned by the caller (vsync_free). Bootstrap warnings go to stderr.
 */
int32_t vsync_open(const vsync_options *options, vsync_handle **out_handle,
                   vsync_error **out_error);

/*
 * Open with explicit inputs, skipping the environment. NULL or "" config/passphrase ->
 * VSYNC_KIND_CONFIG_MISSING. `options` may be NULL (its env_* fields are ignored).
 */
int32_t vsync_open_with(const char *config, const char *passphrase,
                        const vsync_options *options, vsync_handle **out_handle,
                        vsync_error **out_error);

/*
 * Resolve `key` through the chain. `env_value` is step 2: the value the caller's view of the
 * process environment holds for `key` right now, or NULL when unset ("" counts as set).
 * Outputs (all optional): `*out_value` = the value (caller frees with vsync_string_free) or
 * NULL when missing; `*out_len` = its length in bytes; `*out_source` = a vsync_source.
 * Pass out_value = NULL to learn only the source (nothing is allocated).
 */
int32_t vsync_get_env(const vsync_handle *handle, const char *key, const char *env_value,
                      char **out_value, size_t *out_len, int32_t *out_source,
                      vsync_error **out_error);

/* True iff the chain resolves `key` (steps 1-3). `env_value` as in vsync_get_env. */
int32_t vsync_has_env(const vsync_handle *handle, const char *key, const char *env_value,
                      bool *out_has, vsync_error **out_error);

/*
 * An asset's bytes, else the key/value of that name as UTF-8, else VSYNC_KIND_NOT_FOUND.
 * `*out_bytes` is owned by the caller (vsync_bytes_free), never NULL on success (an empty
 * asset gives a valid pointer and *out_len = 0).
 */
int32_t vsync_get_as_content(const vsync_handle *handle, const char *name, uint8_t **out_bytes,
                             size_t *out_len, vsync_error **out_error);

/*
 * The vault's key names in payload order (no values). `*out_keys` is an array of `*out_len`
 * strings owned by the caller: release with vsync_string_list_free(*out_keys, *out_len).
 */
int32_t vsync_keys(const vsync_handle *handle, char ***out_keys, size_t *out_len,
                   vsync_error **out_error);

/* The generation read at open time (pure memory). */
int32_t vsync_generation(const vsync_handle *handle, uint64_t *out_generation,
                         vsync_error **out_error);

/* The generation in the bucket now (one HEAD). Bounded by the open's timeout, or by
 * timeout_ms when it is non-zero and sooner (a longer timeout_ms does not extend it). */
int32_t vsync_remote_generation(const vsync_handle *handle, uint64_t timeout_ms,
                                uint64_t *out_generation, vsync_error **out_error);

/* remote generation > generation; timeout_ms as for vsync_remote_generation. */
int32_t vsync_has_new_version(const vsync_handle *handle, uint64_t timeout_ms, bool *out_new,
                              vsync_error **out_error);

/* Zero every value, asset, default and credential. Idempotent, thread-safe; NULL is a no-op.
 * The handle stays allocated: later calls fail with VSYNC_KIND_CLOSED until vsync_free. */
void vsync_close(const vsync_handle *handle);

/* Close (if needed) and release a handle. Once per handle; must not race with other calls
 * on it. NULL is a no-op. */
void vsync_free(vsync_handle *handle);

/* Release (and zero) a string returned by this library. NULL is a no-op. */
void vsync_string_free(char *s);

/* Release (and zero) a byte buffer returned by this library. NULL is a no-op. */
void vsync_bytes_free(uint8_t *bytes);

/* Release a list returned by this library (each string and the array). NULL is a no-op. */
void vsync_string_list_free(char **list, size_t len);

/* Release an error (with its code and message). NULL is a no-op. */
void vsync_error_free(vsync_error *error);

/* ---------------------------------------------------------------------------------------
 * Conformance hooks: PRIVATE API for the conformance runners (conformance/README.md).
 * Same conventions; not covered by any stability promise.
 * ------------------------------------------------------------------------------------- */

/* hooks::decrypt_envelope. `*out_bytes` (caller frees, vsync_bytes_free) is the plaintext. */
int32_t vsync_testing_decrypt_envelope(const uint8_t *envelope, size_t envelope_len,
                                       const char *passphrase, const char *salt,
                                       uint32_t iterations, uint8_t **out_bytes,
                                       size_t *out_len, vsync_error **out_error);

/* hooks::unseal. `remote_ts` may be NULL (no check). `*out_ts` (vsync_string_free) and
 * `*out_payload` (vsync_bytes_free) are owned by the caller. */
int32_t vsync_testing_unseal_manifest(const uint8_t *sealed, size_t sealed_len,
                                      const char *remote_ts, char **out_ts,
                                      uint8_t **out_payload, size_t *out_payload_len,
                                      vsync_error **out_error);

/* hooks::decode_config_json. `*out_json` (vsync_string_free) holds the secret key: tests only. */
int32_t vsync_testing_decode_config_json(const char *blob, char **out_json,
                                         vsync_error **out_error);

/* Vault::from_payload: a handle without S3 (remote generation -> VSYNC_KIND_CONFIG_MISSING).
 * `pointer_ts` may be NULL; `options` may be NULL. `*out_handle`: caller frees (vsync_free). */
int32_t vsync_testing_open_payload(const uint8_t *payload, size_t payload_len,
                                   const char *env_label, const char *pointer_ts,
                                   const vsync_options *options, vsync_handle **out_handle,
                                   vsync_error **out_error);

/* hooks::resolve_bootstrap over an explicit environment (a NULL value = unset).
 * `*out_config`, `*out_passphrase` (vsync_string_free) and `*out_warnings`
 * (vsync_string_list_free with `*out_warnings_len`) are owned by the caller. */
int32_t vsync_testing_resolve_bootstrap(const char *const *env_names,
                                        const char *const *env_values, size_t env_len,
                                        char **out_config, char **out_passphrase,
                                        char ***out_warnings, size_t *out_warnings_len,
                                        vsync_error **out_error);

#ifdef __cplusplus
}
#endif

#endif /* VSYNC_H */
