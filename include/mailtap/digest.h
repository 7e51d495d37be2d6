/* SPDX-License-Identifier: BSD-3-Clause */
/* The message digests mailtap uses (file hashes, certificate fingerprints, JA3/JA4,
 * Community ID), fetched from OpenSSL's default provider once per process. OpenSSL 3 fetches
 * an implicitly named EVP_md5()/EVP_sha1()/EVP_sha256() again at every EVP_DigestInit_ex or
 * EVP_Digest call (a locked lookup); the fetched objects skip that. */
#ifndef MAILTAP_DIGEST_H
#define MAILTAP_DIGEST_H

#include <openssl/evp.h>

enum mt_md { MT_MD5, MT_SHA1, MT_SHA256, MT_MD__N };

/* Never NULL: falls back to the implicit EVP_md5()/... if the fetch fails. */
const EVP_MD *mt_md(enum mt_md which);

#endif
