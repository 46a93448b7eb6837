/* zfcrypto.h: libcrypto opened on the first online signature, not at import.
 *
 * Linking the engine against libcrypto maps it, with its relocations and
 * data, into every served process: 1.4 MB of RSS (measured on a 1M-name
 * zone file, smaps of the server; bench/RESULTS.md §9, 2026-12-06 rss1m),
 * while only signed zones with online templates (zfdeny.c) ever sign.  So
 * zfdeny.c reaches the few libcrypto functions it calls through pointers
 * filled by dlopen()/dlsym() the first time it needs a key (zfcrypto_load,
 * from key_ctx); until then libcrypto is not in the process.
 *
 * Included by zfdeny.c after the OpenSSL headers: each name below is
 * redefined to its pointer, so the calls there read as plain OpenSSL.
 */
#ifndef ZF_CRYPTO_H
#define ZF_CRYPTO_H

#include <dlfcn.h>
#include <pthread.h>
#include <openssl/opensslv.h>

#define ZFC_STR2(x) #x
#define ZFC_STR(x) ZFC_STR2(x)
/* the soname the headers belong to (libcrypto.so.3 for OpenSSL 3.x) */
#define ZFC_SONAME "libcrypto.so." ZFC_STR(OPENSSL_VERSION_MAJOR)

#define ZFC_FUNCS(X)                                                           \
    X(BN_bin2bn) X(BN_bn2binpad) X(BN_clear_free) X(ECDSA_SIG_free)           \
    X(ECDSA_SIG_get0) X(EVP_PKEY_CTX_free) X(EVP_PKEY_CTX_new_from_name)      \
    X(EVP_PKEY_CTX_new_from_pkey) X(EVP_PKEY_free) X(EVP_PKEY_fromdata)       \
    X(EVP_PKEY_fromdata_init) X(EVP_PKEY_sign) X(EVP_PKEY_sign_init)          \
    X(OSSL_PARAM_BLD_free) X(OSSL_PARAM_BLD_new) X(OSSL_PARAM_BLD_push_BN)    \
    X(OSSL_PARAM_BLD_push_octet_string) X(OSSL_PARAM_BLD_push_utf8_string)    \
    X(OSSL_PARAM_BLD_to_param) X(OSSL_PARAM_free) X(SHA256) X(d2i_ECDSA_SIG)

#define ZFC_FIELD(f) __typeof__(&f) f;
static struct { ZFC_FUNCS(ZFC_FIELD) } zfc;
#undef ZFC_FIELD

static pthread_once_t zfc_once = PTHREAD_ONCE_INIT;
static int zfc_ok;  /* every pointer above is filled (set once, with release) */

static void zfc_open(void)
{
    /* RTLD_LOCAL: nothing else in the process resolves against it through
     * us; a libcrypto already loaded (hashlib, dnssec/_sign) is reused */
    void *lib = dlopen(ZFC_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        return;
#define ZFC_SYM(f) if ((*(void **)&zfc.f = dlsym(lib, #f)) == NULL) return;
    ZFC_FUNCS(ZFC_SYM)
#undef ZFC_SYM
    __atomic_store_n(&zfc_ok, 1, __ATOMIC_RELEASE);
}

/* 0 once libcrypto is usable; -1 when it cannot be opened (signing then
 * fails, and the answer is SERVFAIL, as for any signing fault). */
static inline int zfcrypto_load(void)
{
    if (__atomic_load_n(&zfc_ok, __ATOMIC_ACQUIRE))
        return 0; /* every signature after the first: one load */
    pthread_once(&zfc_once, zfc_open);
    return __atomic_load_n(&zfc_ok, __ATOMIC_ACQUIRE) ? 0 : -1;
}

/* The frees run when a thread's cache goes (free_state), whether or not
 * it ever signed: NULL is a no-op, as in OpenSSL, without the library. */
static inline void zfc_pkey_ctx_free(EVP_PKEY_CTX *c) { if (c != NULL) zfc.EVP_PKEY_CTX_free(c); }
static inline void zfc_pkey_free(EVP_PKEY *k) { if (k != NULL) zfc.EVP_PKEY_free(k); }

#define BN_bin2bn zfc.BN_bin2bn
#define BN_bn2binpad zfc.BN_bn2binpad
#define BN_clear_free zfc.BN_clear_free
#define ECDSA_SIG_free zfc.ECDSA_SIG_free
#define ECDSA_SIG_get0 zfc.ECDSA_SIG_get0
#define EVP_PKEY_CTX_free zfc_pkey_ctx_free
#define EVP_PKEY_CTX_new_from_name zfc.EVP_PKEY_CTX_new_from_name
#define EVP_PKEY_CTX_new_from_pkey zfc.EVP_PKEY_CTX_new_from_pkey
#define EVP_PKEY_free zfc_pkey_free
#define EVP_PKEY_fromdata zfc.EVP_PKEY_fromdata
#define EVP_PKEY_fromdata_init zfc.EVP_PKEY_fromdata_init
#define EVP_PKEY_sign zfc.EVP_PKEY_sign
#define EVP_PKEY_sign_init zfc.EVP_PKEY_sign_init
#define OSSL_PARAM_BLD_free zfc.OSSL_PARAM_BLD_free
#define OSSL_PARAM_BLD_new zfc.OSSL_PARAM_BLD_new
#define OSSL_PARAM_BLD_push_BN zfc.OSSL_PARAM_BLD_push_BN
#define OSSL_PARAM_BLD_push_octet_string zfc.OSSL_PARAM_BLD_push_octet_string
#define OSSL_PARAM_BLD_push_utf8_string zfc.OSSL_PARAM_BLD_push_utf8_string
#define OSSL_PARAM_BLD_to_param zfc.OSSL_PARAM_BLD_to_param
#define OSSL_PARAM_free zfc.OSSL_PARAM_free
#define SHA256 zfc.SHA256
#define d2i_ECDSA_SIG zfc.d2i_ECDSA_SIG

#endif
