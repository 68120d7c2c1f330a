// Shims for certificate generation (see MusterNet/Certificates).
#ifndef MUSTER_COPENSSL_SHIMS_X509_H
#define MUSTER_COPENSSL_SHIMS_X509_H

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/err.h>
#include <openssl/pem.h>

/// New EC key on the named curve ("P-256"); EVP_EC_gen is a variadic macro.
static inline EVP_PKEY *muster_EVP_EC_gen(const char *curve) {
    return EVP_EC_gen(curve);
}

/// Points *data at a memory BIO's contents and returns their length (a macro in OpenSSL).
static inline long muster_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

/// Adds one extension given in openssl.cnf syntax ("critical,CA:TRUE", "keyid,issuer", ...).
/// `issuer` may equal `cert` for self-signed certificates. Returns 1 on success, 0 on failure.
static inline int muster_X509_add_ext_conf(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (extension == NULL) return 0;
    int added = X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
    return added == 1 ? 1 : 0;
}

/// Appends a GEN_URI / GEN_DNS / GEN_IPADD name parsed from `value` (no comma splitting,
/// unlike the config syntax). Returns 1 on success, 0 on failure (e.g. a malformed IP).
static inline int muster_GENERAL_NAMES_add(GENERAL_NAMES *names, int type, const char *value) {
    GENERAL_NAME *name = a2i_GENERAL_NAME(NULL, NULL, NULL, type, value, 0);
    if (name == NULL) return 0;
    if (sk_GENERAL_NAME_push(names, name) <= 0) {
        GENERAL_NAME_free(name);
        return 0;
    }
    return 1;
}

/// Number of certificates in a STACK_OF(X509) (sk_X509_num is a macro); 0 for NULL.
static inline int muster_X509_stack_count(const STACK_OF(X509) *stack) {
    return stack == NULL ? 0 : sk_X509_num(stack);
}

/// The index-th certificate of a STACK_OF(X509) (sk_X509_value is a macro), not owned.
static inline X509 *muster_X509_stack_value(const STACK_OF(X509) *stack, int index) {
    return sk_X509_value(stack, index);
}

/// A new, empty STACK_OF(X509) (sk_X509_new_null is a macro); free with muster_X509_stack_free.
static inline STACK_OF(X509) *muster_X509_stack_new(void) { return sk_X509_new_null(); }

/// Appends a certificate to a stack, which takes a reference of its own; 1 on success.
static inline int muster_X509_stack_push(STACK_OF(X509) *stack, X509 *certificate) {
    if (X509_up_ref(certificate) != 1) return 0;
    if (sk_X509_push(stack, certificate) <= 0) { X509_free(certificate); return 0; }
    return 1;
}

/// Frees a stack and its references (sk_X509_pop_free is a macro).
static inline void muster_X509_stack_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }

/// Whether the newest error on this thread's queue is PEM's "no start line", i.e. a PEM
/// reader found no further object (the normal end of a file of several certificates).
static inline int muster_PEM_error_is_no_start_line(void) {
    unsigned long code = ERR_peek_last_error();
    return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
}

/// Number of revoked-certificate entries in a CRL (sk_X509_REVOKED_num is a macro).
static inline int muster_X509_CRL_revoked_count(X509_CRL *crl) {
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    return revoked == NULL ? 0 : sk_X509_REVOKED_num(revoked);
}

/// The serial number of the index-th revoked entry of a CRL, not owned.
static inline const ASN1_INTEGER *muster_X509_CRL_revoked_serial(X509_CRL *crl, int index) {
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    if (revoked == NULL || index < 0 || index >= sk_X509_REVOKED_num(revoked)) return NULL;
    return X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, index));
}

/// Adds one CRL extension given in openssl.cnf syntax ("keyid:always") with `issuer` as the
/// signing CA. Returns 1 on success, 0 on failure.
static inline int muster_X509_CRL_add_ext_conf(X509_CRL *crl, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (extension == NULL) return 0;
    int added = X509_CRL_add_ext(crl, extension, -1);
    X509_EXTENSION_free(extension);
    return added == 1 ? 1 : 0;
}

#endif
