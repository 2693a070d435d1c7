// SPDX-License-Identifier: MIT
/* libFuzzer: JSON reports read back for compare, then compare's writers and
 * a --fail-if check on what was accepted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "fail_if.h"
#include "report_json_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct report rep = {0};
	struct fail_if f;
	char err[512], msg[512];

	if (!null)
		null = fopen("/dev/null", "w");
	if (report_json_decode((const char *)data, size, "fuzz.json", &rep, err, sizeof(err)) ==
	    0) {
		compare_write_text(&rep, "a", &rep, "b", null);
		compare_write_json(&rep, "a", &rep, "b", null);
		if (fail_if_parse("serialize_ns>+10%", &f, err, sizeof(err)) == 0)
			fail_if_check(&f, &rep, &rep, msg, sizeof(msg));
	} else if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n')) {
		abort(); /* errors are one terminated line */
	}
	report_free(&rep);
	return 0;
}
