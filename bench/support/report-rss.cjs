// Preloaded into a child process (tests, benchmarks): reports the peak resident set size at exit.
process.on('exit', () => {
  process.stderr.write(`\nmaxRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
