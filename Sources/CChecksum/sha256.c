// SHA-256 for the log's hash chain. One EVP_MD fetched for the process and one digest
// context per thread: the log writer hashes every record, and making a context per record
// (with an implicit fetch) was the cost OpenSSL 3's documentation warns about.
#include "CChecksum.h"

#include <openssl/evp.h>
#include <pthread.h>

static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t context_key;

static void free_context(void *context) { EVP_MD_CTX_free(context); }

static void fetch_sha256(void) {
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    pthread_key_create(&context_key, free_context);
}

static EVP_MD_CTX *thread_context(void) {
    pthread_once(&sha256_once, fetch_sha256);
    EVP_MD_CTX *context = pthread_getspecific(context_key);
    if (context == NULL) {
        context = EVP_MD_CTX_new();
        if (context != NULL && pthread_setspecific(context_key, context) != 0) {
            EVP_MD_CTX_free(context);
            return NULL;
        }
    }
    return context;
}

int muster_sha256_begin(void) {
    EVP_MD_CTX *context = thread_context();
    return context != NULL && sha256 != NULL && EVP_DigestInit_ex(context, sha256, NULL) == 1;
}

int muster_sha256_update(const void *bytes, size_t count) {
    EVP_MD_CTX *context = pthread_getspecific(context_key);
    return context != NULL && (count == 0 || EVP_DigestUpdate(context, bytes, count) == 1);
}

int muster_sha256_finish(uint8_t digest[32]) {
    EVP_MD_CTX *context = pthread_getspecific(context_key);
    unsigned int length = 0;
    return context != NULL && EVP_DigestFinal_ex(context, digest, &length) == 1 && length == 32;
}
