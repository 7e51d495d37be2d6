// SPDX-License-Identifier: BSD-3-Clause
/* pktfilter (-f): a tcpdump expression keeps and refuses frames as tcpdump would, counts the
 * refused ones; a shared filter runs the same program with its own counter; a bad
 * expression is refused with EINVAL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pcap/dlt.h>
#include "mailtap/pktfilter.h"
#include "../../tools/synth_frame.h"

/* An Ethernet + IPv4 + TCP frame from 10.0.0.1:cport to 192.168.0.1:25 with 4 payload bytes. */
static struct pkt_raw frame(uint8_t buf[SYNTH_HDR_LEN + 4], uint32_t cip, uint16_t cport)
{
	struct synth_tcp t = synth_tcp_dir(1, cip, cport, 0xc0a80001, 25);

	synth_tcp4(buf, &t, 20 + 4);
	memcpy(buf + SYNTH_HDR_LEN, "EHLO", 4);
	return (struct pkt_raw){ .data = buf, .caplen = SYNTH_HDR_LEN + 4,
				 .wirelen = SYNTH_HDR_LEN + 4, .linktype = DLT_EN10MB };
}

static void test_match_and_count(void **st)
{
	uint8_t a[SYNTH_HDR_LEN + 4], b[SYNTH_HDR_LEN + 4];
	struct pkt_raw fa = frame(a, 0x0a000001, 1025), fb = frame(b, 0x0a000002, 1026);
	struct pktfilter *pf = pktfilter__new("tcp dst port 25 and not src host 10.0.0.2",
					      DLT_EN10MB, 262144);
	struct pktfilter *sh;

	(void)st;
	assert_non_null(pf);
	assert_true(pktfilter__match(pf, &fa));
	assert_false(pktfilter__match(pf, &fb));
	assert_false(pktfilter__match(pf, &fb));
	assert_int_equal(pktfilter__refused(pf), 2);
	sh = pktfilter__share(pf);
	assert_non_null(sh);
	assert_true(pktfilter__match(sh, &fa));
	assert_false(pktfilter__match(sh, &fb));
	assert_int_equal(pktfilter__refused(sh), 1); /* its own counter */
	assert_int_equal(pktfilter__refused(pf), 2);
	pktfilter__free(sh);
	assert_true(pktfilter__match(pf, &fa)); /* the program stays with its owner */
	pktfilter__free(pf);
	assert_int_equal(pktfilter__refused(NULL), 0);
}

static void test_payload_and_length(void **st)
{
	uint8_t a[SYNTH_HDR_LEN + 4];
	struct pkt_raw fa = frame(a, 0x0a000001, 1025);
	struct pktfilter *pf = pktfilter__new("tcp[20:4] = 0x45484c4f and greater 58", DLT_EN10MB,
					      262144);

	(void)st;
	assert_non_null(pf);
	assert_true(pktfilter__match(pf, &fa)); /* "EHLO" at the payload's start, 58 bytes */
	fa.wirelen = fa.caplen = SYNTH_HDR_LEN + 2; /* cut before the payload's end */
	assert_false(pktfilter__match(pf, &fa));
	pktfilter__free(pf);
}

static void test_bad_expression(void **st)
{
	(void)st;
	errno = 0;
	assert_null(pktfilter__new("tcp port", DLT_EN10MB, 262144));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(pktfilter__new("port 99999", DLT_EN10MB, 262144));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match_and_count),
	    cmocka_unit_test(test_payload_and_length),
	    cmocka_unit_test(test_bad_expression),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
