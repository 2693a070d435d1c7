// SPDX-License-Identifier: MIT
/* libFuzzer: the recording decoder, then every writer on what it accepted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct report rep = {0};
	char err[512];

	if (!null)
		null = fopen("/dev/null", "w");
	if (record_decode((const char *)data, size, "fuzz.ipcp", &rep, err, sizeof(err)) == 0) {
		report_write_text(&rep, null);
		report_write_json(&rep, null);
		report_write_csv(&rep, null);
		report_write_svg(&rep, null);
		compare_write_text(&rep, "a", &rep, "b", null);
		compare_write_json(&rep, "a", &rep, "b", null);
	} else if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n')) {
		abort(); /* errors are one terminated line */
	}
	report_free(&rep);
	return 0;
}
