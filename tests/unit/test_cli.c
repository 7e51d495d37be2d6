// SPDX-License-Identifier: BSD-3-Clause
/* The command line (user/opts.c) where a suite cannot see the result: the port set handed to
 * the XDP and host programs holds every --ports port (it was cut at 256 without a word);
 * numbers are decimal digits only, and land in their field at its width and unit;
 * --local-nets prefixes are digits in range; the last --capture counts.
 * tests/suites/15-cli.sh runs the binary. */
#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "mailtap/engine.h"
#include "mailtap/opts.h"

static struct opts o;

/* opts__parse on a fresh opts and getopt state; its return value. */
static int parse(int argc, const char **argv)
{
	memset(&o, 0, sizeof(o));
	optind = 0; /* glibc: start over, reinitialised */
	return opts__parse(&o, argc, (char **)argv);
}

static void test_all_ports_to_bpf(void **st)
{
	static char list[65536 * 6];
	const char *argv[] = { "mailtap", "-i", "lo", "--ports", list };
	size_t len = 0;

	(void)st;
	/* 1000 ports, every 7th from 1000: far more than the 256 the list used to hold */
	for (int i = 0; i < 1000; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", i ? "," : "",
					1000 + 7 * i);
	assert_int_equal(parse(5, argv), 0);
	assert_int_equal(o.xsk.n_ports, 1000);
	assert_int_equal(o.host.n_ports, 1000);
	assert_ptr_equal(o.xsk.ports, o.host.ports);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(o.xsk.ports[i], 1000 + 7 * i);
		assert_true(engine_cfg__port(o.eng.ports, (uint16_t)(1000 + 7 * i)));
	}
	/* all of them: 65535 ports */
	len = 0;
	for (int p = 1; p < 65536; p++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", p > 1 ? "," : "",
					p);
	assert_int_equal(parse(5, argv), 0);
	assert_int_equal(o.xsk.n_ports, 65535);
	assert_int_equal(o.host.n_ports, 65535);
	assert_int_equal(o.host.ports[65534], 65535);
}

static void test_ports_refused(void **st)
{
	const char *bad[] = { "", ",", "25,", ",25", "25,,465", "0", "65536", "025x", " 25", "+25",
			      "0x19", "-1" };
	const char *argv[] = { "mailtap", "-r", "x.pcap", "--ports", NULL };

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		argv[4] = bad[i];
		assert_int_equal(parse(5, argv), -EINVAL);
	}
	argv[4] = "025"; /* decimal: 25, not octal 21 */
	assert_int_equal(parse(5, argv), 0);
	assert_true(engine_cfg__port(o.eng.ports, 25));
	assert_false(engine_cfg__port(o.eng.ports, 21));
}

/* --vxlan-ports, --geneve-ports: Zeek's 4789 and 6081 unless given; up to
 * MAILTAP_MAX_TUNNEL_PORTS each, in the order given, to decode and to the XDP program (given:
 * written to a pinned program's); none or "" for none; refused: a bad number, an empty item,
 * a port twice, one too many, a fixed tunnel port (Teredo, AYIYA, GTPv1), a port in both
 * lists, --capture host (which follows no tunnel). */
static void test_tunnel_ports(void **st)
{
	const char *bad[] = { "0", "65536", "x", "4789,", ",4789", "4789,,8472", "025x", "+4789",
			      "4789,4789", "1,2,3,4,5", "3544", "5072", "2152", "2123",
			      "8472,2152" };
	const char *argv[] = { "mailtap", "-r", "x.pcap", "--vxlan-ports", NULL, "--geneve-ports",
			       NULL, NULL };
	const struct mailtap_tunnel_ports *t = &o.eng.decode.tun_ports;

	(void)st;
	assert_int_equal(parse(3, argv), 0);
	assert_int_equal(t->vxlan[0], 4789);
	assert_int_equal(t->vxlan[1], 0);
	assert_int_equal(t->geneve[0], 6081);
	assert_int_equal(t->geneve[1], 0);
	assert_false(o.tunnel_ports_given);
	assert_int_equal(o.xsk.tun_ports.vxlan[0], 4789);
	argv[4] = "4789,8472";
	assert_int_equal(parse(5, argv), 0);
	assert_int_equal(t->vxlan[0], 4789);
	assert_int_equal(t->vxlan[1], 8472);
	assert_int_equal(t->vxlan[2], 0);
	assert_int_equal(t->geneve[0], 6081); /* the other list keeps its default */
	assert_true(o.tunnel_ports_given);
	assert_memory_equal(&o.xsk.tun_ports, t, sizeof(*t));
	assert_true(o.xsk.tun_ports_given);
	argv[4] = "9,8,7,65535"; /* as many as there is room for, in the order given */
	argv[6] = "none";
	assert_int_equal(parse(7, argv), 0);
	assert_int_equal(t->vxlan[0], 9);
	assert_int_equal(t->vxlan[3], 65535);
	for (int i = 0; i < MAILTAP_MAX_TUNNEL_PORTS; i++)
		assert_int_equal(t->geneve[i], 0);
	argv[4] = "";
	argv[6] = "4789";
	assert_int_equal(parse(7, argv), 0);
	assert_int_equal(t->vxlan[0], 0);
	assert_int_equal(t->geneve[0], 4789);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		argv[4] = bad[i];
		assert_int_equal(parse(5, argv), -EINVAL);
		argv[3] = "--geneve-ports";
		assert_int_equal(parse(5, argv), -EINVAL);
		argv[3] = "--vxlan-ports";
	}
	/* in both lists, either way round */
	argv[4] = "4789,8472";
	argv[6] = "8472";
	assert_int_equal(parse(7, argv), -EINVAL);
	argv[4] = "6081";
	assert_int_equal(parse(5, argv), -EINVAL); /* Geneve's default is 6081 */
	argv[6] = "4789";
	assert_int_equal(parse(7, argv), 0); /* swapped */
	/* host mode follows no tunnel; mirror mode and -r do */
	{
		const char *host[] = { "mailtap", "-i", "lo", "--capture", "host", "--vxlan-ports",
				       "8472" };

		assert_int_equal(parse(7, host), -EINVAL);
		host[4] = "mirror";
		assert_int_equal(parse(7, host), 0);
		assert_int_equal(o.xsk.tun_ports.vxlan[0], 8472);
	}
}

/* Decimal digits only, range-checked: no sign, blank or base prefix, nothing past
 * 2^64 - 1, and a leading 0 is not octal. */
static void test_numbers(void **st)
{
	const char *bad[] = { "18446744073709551616", "99999999999999999999999", " -1", "-1", "+1",
			      " 1", "1 ", "0x10", "" };
	const char *argv[] = { "mailtap", "-r", "x.pcap", "--seed", NULL, "--workers", NULL };

	(void)st;
	argv[4] = "18446744073709551615";
	assert_int_equal(parse(5, argv), 0);
	assert_true(o.eng.seeded);
	assert_true(o.eng.seed == UINT64_MAX);
	argv[4] = "010";
	assert_int_equal(parse(5, argv), 0);
	assert_int_equal(o.eng.seed, 10);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		argv[4] = bad[i];
		assert_int_equal(parse(5, argv), -EINVAL);
	}
	argv[3] = "--workers";
	argv[4] = "5";
	argv[6] = "65";
	assert_int_equal(parse(7, argv), -EINVAL);
	assert_int_equal(o.workers, 5); /* a refused value leaves the one before it */
	argv[6] = "0";
	assert_int_equal(parse(7, argv), -EINVAL);
	assert_int_equal(o.workers, 5);
	argv[6] = "64";
	assert_int_equal(parse(7, argv), 0);
	assert_int_equal(o.workers, 64);
}

/* The numbers of opts.c's table land in their own field, at its width and unit, at the top
 * of their range, and leave the fields beside them as they were. */
static void test_numbers_stored(void **st)
{
	const char *base[] = { "mailtap", "-r", "x.pcap", "-o", "forward:unix:/x" };
	const char *argv[] = { "mailtap", "-r", "x.pcap", "-o", "forward:unix:/x",
			       "--reasm-max-ooo-bytes", "4294967295",
			       "--reasm-max-total-bytes", "18446744073709551615",
			       "--forward-queue-bytes", "1099511627776",
			       "--stats-interval", "86400",
			       "--capture-loss-too-much", "37",
			       "--tunnel-expire", "31536000",
			       "--frag-timeout", "3600",
			       "--smtp-max-cc", "7",
			       "--log-max-total-container-elements", "0",
			       "--ssl-max-alerts-per-record", "65535",
			       "--ssl-max-history", "254",
			       "--reasm-max-retain-bytes", "0",
			       "--smtp-events-data-max", "0",
			       "--mime-max-open-messages", "0" };
	struct opts d;

	(void)st;
	assert_int_equal(parse(5, base), 0);
	d = o;
	assert_int_equal(parse((int)(sizeof(argv) / sizeof(argv[0])), argv), 0);
	assert_int_equal(o.eng.reasm.max_ooo_bytes, UINT32_MAX); /* uint32_t */
	assert_int_equal(o.eng.reasm.max_segments, d.eng.reasm.max_segments);
	assert_true(o.eng.reasm.max_total_bytes == UINT64_MAX); /* uint64_t */
	assert_true(o.fwd.queue_max_bytes == 1ULL << 40);	/* size_t */
	assert_int_equal(o.fwd.policy, d.fwd.policy);
	assert_int_equal(o.stats_interval, 86400); /* int */
	assert_true(o.cl_too_much == 37.0);	   /* double */
	assert_true(o.tun.expire_ns == 31536000ULL * 1000000000ULL); /* seconds kept in ns */
	assert_int_equal(o.tun.max, d.tun.max);
	assert_true(o.eng.frag.timeout_ns == 3600ULL * 1000000000ULL);
	assert_int_equal(o.eng.frag.max_datagrams, d.eng.frag.max_datagrams);
	assert_int_equal(o.parsers.smtp.lim.max_cc, 7);
	assert_int_equal(o.parsers.smtp.lim.max_to, d.parsers.smtp.lim.max_to);
	assert_int_equal(o.parsers.smtp.lim.max_path, d.parsers.smtp.lim.max_path);
	assert_int_equal(o.logl.max_total_container_elements, 0);
	assert_int_equal(o.logl.max_field_container_elements, d.logl.max_field_container_elements);
	assert_int_equal(o.parsers.tls.lim.max_alerts_per_record, 65535); /* uint16_t */
	assert_int_equal(o.parsers.tls.lim.max_list, d.parsers.tls.lim.max_list);
	assert_int_equal(o.parsers.tls.lim.max_certs, d.parsers.tls.lim.max_certs);
	assert_int_equal(o.parsers.tls.max_ssl_history, 254);
	assert_int_equal(o.eng.reasm.max_retain_bytes, 0);
	assert_int_equal(o.eng.reasm.max_ooo_bytes, UINT32_MAX);
	assert_int_equal(o.parsers.smtp.lim.events_data_max, 0);
	assert_int_equal(o.parsers.smtp.lim.max_fuids, d.parsers.smtp.lim.max_fuids);
	/* the limits' defaults, and their ranges */
	assert_int_equal(d.eng.reasm.max_retain_bytes, 65536);
	assert_int_equal(d.parsers.tls.max_ssl_history, 100);
	assert_int_equal(d.parsers.tls.lim.max_alerts_per_record, 10);
	assert_int_equal(d.parsers.tls.lim.max_list, 256);
	assert_int_equal(d.parsers.tls.lim.max_certs, 32);
	assert_int_equal(d.parsers.smtp.lim.max_header_value, 65536);
	assert_int_equal(d.parsers.smtp.lim.max_fuids, 1000);
	assert_int_equal(d.parsers.smtp.lim.max_extensions, 64);
	assert_int_equal(d.parsers.smtp.lim.events_data_max, 1024);
	assert_int_equal(o.parsers.smtp.mime.max_open_messages, 0);
	assert_int_equal(d.parsers.smtp.mime.max_open_messages, 100000);
	{
		const char *out[][2] = { { "--ssl-max-alerts-per-record", "65536" },
					 { "--ssl-max-alerts-per-record", "0" },
					 { "--ssl-max-history", "255" },
					 { "--ssl-max-history", "0" },
					 { "--ssl-max-hello-list", "4097" },
					 { "--ssl-max-certificates-per-message", "1025" },
					 { "--smtp-max-fuids", "0" },
					 { "--smtp-max-header-value", "0" },
					 { "--reasm-max-retain-bytes", "1073741825" } };
		const char *one[] = { "mailtap", "-r", "x.pcap", NULL, NULL };

		for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
			one[3] = out[i][0];
			one[4] = out[i][1];
			assert_int_equal(parse(5, one), -EINVAL);
		}
	}
}

static void test_local_nets(void **st)
{
	const char *bad[] = { "10.0.0.0/", "10.0.0.0/ 16", "10.0.0.0/+8", "10.0.0.0/-0",
			      "10.0.0.0/33", "10.0.0.0/8x", "10.0.0.0/0x8", "::/129", "::/0128",
			      "10.0.0.0/8/8" };
	struct engine_cfg c;

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		engine_cfg__default(&c);
		assert_int_equal(engine_cfg__parse_nets(&c, bad[i]), -EINVAL);
	}
	engine_cfg__default(&c);
	assert_int_equal(engine_cfg__parse_nets(&c, "10.0.0.0/8,192.168.1.1,2001:db8::/032,::/0"),
			 0);
	assert_int_equal(c.n_nets, 4);
	assert_int_equal(c.nets[0].prefix, 96 + 8);
	assert_int_equal(c.nets[1].prefix, 128);
	assert_int_equal(c.nets[2].prefix, 32);
	assert_int_equal(c.nets[3].prefix, 0);
}

/* an option given again takes the later value: the container entrypoint puts the command
 * line's flags after the variables' (--capture host by default) */
static void test_last_capture_wins(void **st)
{
	const char *mirror[] = { "mailtap", "-i", "lo", "--capture", "host", "--capture", "mirror" };
	const char *host[] = { "mailtap", "-i", "lo", "--capture", "mirror", "--capture", "host" };

	(void)st;
	assert_int_equal(parse(7, mirror), 0);
	assert_int_equal(o.capture_host, 0);
	assert_int_equal(parse(7, host), 0);
	assert_int_equal(o.capture_host, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_ports_to_bpf),
		cmocka_unit_test(test_ports_refused),
		cmocka_unit_test(test_tunnel_ports),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_numbers_stored),
		cmocka_unit_test(test_local_nets),
		cmocka_unit_test(test_last_capture_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
