// Static-inline shims for OpenSSL 3 macros and variadic functions that Swift
// cannot import directly. Only MusterNet imports this module.
#ifndef MUSTER_COPENSSL_SHIMS_H
#define MUSTER_COPENSSL_SHIMS_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "shims_x509.h"

static inline int muster_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int muster_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

static inline long muster_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

/// Lets OpenSSL read as many bytes as the socket holds in one read(2), instead of each record's
/// 5-byte header and then its body. Only for non-blocking channels that read until WANT_READ:
/// bytes it holds are then invisible to poll(2).
static inline void muster_SSL_CTX_set_read_ahead(SSL_CTX *ctx) {
    SSL_CTX_set_read_ahead(ctx, 1);
}

static inline long muster_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

/// Turns session resumption off for a server context: no session cache, no TLS 1.2 tickets,
/// no TLS 1.3 tickets. Every connection then runs a full handshake, so its verified chain
/// (which a resumed session does not keep) is always there to check. The session ID
/// context is set too: without one, OpenSSL fails the handshake of a TLS 1.2 client that
/// offers a session ("session id context uninitialized"). Returns 1 on success.
static inline int muster_SSL_CTX_disable_resumption(SSL_CTX *ctx) {
    static const unsigned char context[] = "muster";
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (SSL_CTX_set_num_tickets(ctx, 0) != 1) return 0;
    return SSL_CTX_set_session_id_context(ctx, context, sizeof(context) - 1);
}

static inline int muster_TLS1_3_VERSION(void) { return TLS1_3_VERSION; }
static inline int muster_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }

static inline STACK_OF(X509_NAME) *muster_X509_NAME_stack_new(void) { return sk_X509_NAME_new_null(); }

static inline void muster_OPENSSL_free(void *pointer) { OPENSSL_free(pointer); }

/// Number of URI subject-alternative names in a certificate.
static inline int muster_uri_san_count(const X509 *cert) {
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return 0;
    int count = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        if (name->type == GEN_URI) count++;
    }
    GENERAL_NAMES_free(names);
    return count;
}

/// Copies the index-th URI SAN into buffer (NUL-terminated); returns its length or -1.
static inline int muster_uri_san_copy(const X509 *cert, int index, char *buffer, int capacity) {
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return -1;
    int seen = 0, result = -1;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        if (name->type != GEN_URI) continue;
        if (seen++ != index) continue;
        const ASN1_IA5STRING *uri = name->d.uniformResourceIdentifier;
        int length = ASN1_STRING_length(uri);
        if (length + 1 > capacity) break;
        memcpy(buffer, ASN1_STRING_get0_data(uri), (size_t)length);
        buffer[length] = 0;
        result = length;
        break;
    }
    GENERAL_NAMES_free(names);
    return result;
}

#endif
