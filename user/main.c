// SPDX-License-Identifier: MIT
/*
 * ipcprof: where does the time go when processes exchange data?
 *
 * Traces a command (ipcprof run) or live processes (ipcprof attach) with
 * all their descendants and splits IPC time into serialization, syscalls
 * (on CPU / blocked), kernel copies, fork and shared-memory set-up.
 *
 * This file parses the command line (cli.c) and hands over to the
 * subcommand (cmd_*.c).
 */
#include <signal.h>

#include "cli.h"
#include "cmd.h"

int main(int argc, char **argv)
{
	struct cli c;
	int rc;

	/* a closed output pipe is a write error we report (EPIPE), not death
	 * with processes still held; launch.c restores it for the command */
	signal(SIGPIPE, SIG_IGN);
	rc = cli_parse(&c, argc, argv);

	if (rc)
		goto out;
	switch (c.mode) {
	case MODE_REPORT:
	case MODE_COMPARE:
		rc = cmd_recordings(&c);
		break;
	case MODE_PROBE:
		rc = cmd_probe(&c);
		break;
	default:
		rc = cmd_trace(&c);
		break;
	}
out:
	cli_free(&c);
	return rc;
}
