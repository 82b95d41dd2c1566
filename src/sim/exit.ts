// Exiting a command-line process without losing its output: `process.exit` does not wait for
// writes to a pipe (stdout piped to another program is asynchronous here), so a long JSON summary
// was cut at the pipe's buffer (64 KiB). Writes on a stream complete in order: once an empty write
// has completed on stdout and on stderr, everything written before it has been handed over.

/** Exits with `code` once everything written so far to stdout and stderr has been handed over. */
export function exitWhenFlushed(code: number): void {
  let waiting = 2;
  const done = () => {
    if (--waiting === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
