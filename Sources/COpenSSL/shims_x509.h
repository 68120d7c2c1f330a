// Shims for certificate generation (see MusterNet/Certificates).
#ifndef MUSTER_COPENSSL_SHIMS_X509_H
#define MUSTER_COPENSSL_SHIMS_X509_H
#endif
