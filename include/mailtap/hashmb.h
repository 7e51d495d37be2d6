/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MD5 of many streams at once (user/md5mb.c): each stream keeps the bytes it was given until
 * enough other streams have bytes waiting too, then 16 (AVX-512F) or 8 (AVX2) go through the
 * lanes of one register side by side; what cannot wait (a stream at its cap without company,
 * the end of a stream, a CPU with neither) goes through one-stream code (OpenSSL's block
 * function). The digests are MD5's, whatever the interleaving.
 *
 * The streams of one engine share its pool, used by the engine's thread only.
 */
#ifndef MAILTAP_MD5MB_H
#define MAILTAP_MD5MB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes a stream keeps at most before hashing them on its own. */
#define MD5MB_STREAM_CAP 8192
/* Bytes all streams of a pool keep at most, and buffer bytes they hold at most (beyond
 * MD5MB_MIN_BUF each). */
#define MD5MB_POOL_CAP (4u << 20)
/* A stream's first buffer; it doubles up to MD5MB_STREAM_CAP as bytes wait. */
#define MD5MB_MIN_BUF 256
/* Streams with at least this many bytes waiting may join an eight-stream pass. */
#define MD5MB_READY_MIN 1024
/* A full stream joins a pass with at least this many ready streams, else goes alone. */
#define MD5MB_LANES_MIN 4
#define MD5MB_MAX_READY 64

struct md5mb_stats {
	uint64_t lane_runs;   /* eight-stream passes */
	uint64_t lane_blocks; /* blocks hashed in them */
	uint64_t solo_blocks; /* blocks hashed one stream at a time */
};

struct md5mb;

/* The streams of one engine (one thread): embedded in it, lives as long as it. */
struct md5mb_pool {
	struct md5mb *ready[MD5MB_MAX_READY]; /* streams with MD5MB_READY_MIN bytes waiting */
	int nready;
	size_t pending; /* bytes kept by all its streams */
	size_t alloc;	/* their buffers' sizes */
	int lanes;	/* streams per pass: 16 (AVX-512F), 8 (AVX2) */
	bool solo;	/* one-stream code only (neither, or forced by tests) */
	struct md5mb_stats st;
};

struct md5mb {
	struct md5mb_pool *pool; /* NULL: one-stream code, nothing kept */
	uint32_t h[4];
	uint64_t len; /* bytes given so far */
	uint8_t *buf; /* bytes not hashed yet (MD5MB_STREAM_CAP, allocated at first use) */
	uint32_t n;   /* ... how many */
	uint32_t cap; /* size of buf */
	int ready;    /* index in the pool's ready list, or -1 */
	bool failed;  /* no memory for the buffer: no digest */
};

void md5mb_pool_init(struct md5mb_pool *p);
/* Tests: one-stream code only (on = false) or passes when the CPU has AVX2 or AVX-512F. */
void md5mb_pool_set_multi(struct md5mb_pool *p, bool on);
/* Tests: passes of 8 (AVX2) or 16 (AVX-512F) streams; false when the CPU cannot. */
bool md5mb_pool_set_lanes(struct md5mb_pool *p, int lanes);

void md5mb_init(struct md5mb *s, struct md5mb_pool *pool);
void md5mb_update(struct md5mb *s, const void *p, size_t n);
/* The digest (false: the stream had no memory for its buffer, there is none); the stream is
 * released (md5mb_init to use it again). */
bool md5mb_final(struct md5mb *s, uint8_t out[16]);
/* Releases a stream without a digest (a file whose hashes were dropped). */
void md5mb_abandon(struct md5mb *s);

#endif
