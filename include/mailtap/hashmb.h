/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MD5 and SHA-1 of many streams at once (user/hashmb.c): each stream keeps the bytes it was
 * given until enough other streams have bytes waiting too; then their blocks are hashed side
 * by side in the 32-bit lanes of vector registers: 32 streams in two AVX-512 registers whose
 * steps alternate (one's latency hidden behind the other's), 16 in one, or 8 with AVX2 (MD5
 * only). A pass with few SHA-1 streams hashes them three at a time through the SHA extensions
 * (SHA-NI). What cannot wait (a stream at its cap without company, the end of a stream with
 * few blocks left or little company, a CPU with none of these) goes through one-stream code
 * (OpenSSL's block functions). The digests are MD5's and SHA-1's, whatever the interleaving.
 *
 * The streams of one engine share its pool, used by the engine's thread only.
 */
#ifndef MAILTAP_HASHMB_H
#define MAILTAP_HASHMB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes a stream keeps at most before hashing them on its own. */
#define HASHMB_STREAM_CAP 8192
/* Bytes all streams of a pool keep at most, and buffer bytes they hold at most (beyond
 * HASHMB_MIN_BUF each). */
#define HASHMB_POOL_CAP (4u << 20)
/* A stream's first buffer; it doubles up to HASHMB_STREAM_CAP as bytes wait. */
#define HASHMB_MIN_BUF 256
/* Streams with at least this many bytes waiting may join a side-by-side pass. */
#define HASHMB_READY_MIN 1024
/* A full stream joins a pass with at least this many ready streams, else goes alone. */
#define HASHMB_LANES_MIN 4
#define HASHMB_MAX_READY 64
/* A stream that ends with at least this many whole blocks waiting joins a pass when, with it,
 * at least HASHMB_FINAL_COMPANY streams are ready; else they are hashed on their own. */
#define HASHMB_FINAL_BLOCKS 8
#define HASHMB_FINAL_COMPANY 12
/* SHA-1 of a pass goes in AVX-512 lanes (16 streams at 7 GB/s, 32 at 8 GB/s here) when it has
 * this many streams; fewer go three at a time through SHA-NI (4.3 GB/s). */
#define HASHMB_SHA_WIDE_MIN 10

/* What a stream computes (hashmb_init). */
#define HASHMB_MD5 1u
#define HASHMB_SHA1 2u

struct hashmb_stats {
	uint64_t lane_runs;	/* side-by-side passes */
	uint64_t lane_blocks;	/* 64-byte blocks of streams hashed in them */
	uint64_t solo_blocks;	/* blocks hashed one stream at a time */
	uint64_t wide_runs;	/* passes whose MD5 went in two registers (more than 16 streams
				 * with AVX-512F, more than 8 with AVX2) */
	uint64_t sha_lane_runs; /* passes whose SHA-1 went in AVX-512 lanes */
	uint64_t final_runs;	/* passes for the last blocks of a stream that ended */
};

struct hashmb;

/* The streams of one engine (one thread): embedded in it, lives as long as it. */
struct hashmb_pool {
	struct hashmb *ready[HASHMB_MAX_READY]; /* streams with HASHMB_READY_MIN bytes waiting */
	int nready;
	size_t pending; /* bytes kept by all its streams */
	size_t alloc;	/* their buffers' sizes */
	int lanes;	/* streams per pass at most: 32 (AVX-512F), 16 (AVX2) */
	bool avx2;	/* MD5 passes with the AVX2 kernels (no AVX-512F, or forced by tests) */
	bool solo;	/* one-stream code only (neither, or forced by tests) */
	bool sha_ni;	/* SHA-1 of a pass three streams at a time (else one by one) */
	bool sha_wide;	/* SHA-1 of a pass in AVX-512 lanes (HASHMB_SHA_WIDE_MIN streams or more) */
	struct hashmb_stats st;
};

struct hashmb {
	struct hashmb_pool *pool; /* NULL: one-stream code, nothing kept */
	uint32_t h[4];		  /* MD5 state */
	uint32_t h1[5];		  /* SHA-1 state */
	unsigned algs;		  /* HASHMB_MD5 | HASHMB_SHA1 */
	uint64_t len;		  /* bytes given so far */
	uint8_t *buf; /* bytes not hashed yet (HASHMB_STREAM_CAP, allocated at first use) */
	uint32_t n;   /* ... how many */
	uint32_t cap; /* size of buf */
	int ready;    /* index in the pool's ready list, or -1 */
	bool failed;  /* no memory for the buffer: no digest */
};

void hashmb_pool_init(struct hashmb_pool *p);
/* Tests: one-stream code only (on = false) or passes when the CPU has AVX2 or AVX-512F. */
void hashmb_pool_set_multi(struct hashmb_pool *p, bool on);
/* Tests: passes of 8 or 16 (AVX2), 16 or 32 (AVX-512F) streams; false when the CPU cannot. */
bool hashmb_pool_set_lanes(struct hashmb_pool *p, int lanes);
/* Tests: MD5 passes with the AVX2 kernels on an AVX-512F CPU too (lanes at most 16); false
 * when the CPU has no AVX2, or for off without AVX-512F. */
bool hashmb_pool_set_avx2(struct hashmb_pool *p, bool on);
/* Tests: SHA-1 of a pass three at a time with SHA-NI (false when the CPU has none) or one by
 * one through OpenSSL. */
bool hashmb_pool_set_sha_ni(struct hashmb_pool *p, bool on);
/* Tests: SHA-1 in AVX-512 lanes (on by default with AVX-512BW); false when the CPU cannot. */
bool hashmb_pool_set_sha_wide(struct hashmb_pool *p, bool on);

/* algs: HASHMB_MD5, HASHMB_SHA1 or both (not 0). */
void hashmb_init(struct hashmb *s, struct hashmb_pool *pool, unsigned algs);
void hashmb_update(struct hashmb *s, const void *p, size_t n);
/* The digests of the stream's algorithms into md5 and sha1 (NULL for one it does not
 * compute); false: the stream had no memory for its buffer, there are none. The stream is
 * released (hashmb_init to use it again). */
bool hashmb_final(struct hashmb *s, uint8_t md5[16], uint8_t sha1[20]);
/* Releases a stream without a digest (a file whose hashes were dropped). */
void hashmb_abandon(struct hashmb *s);

#endif
