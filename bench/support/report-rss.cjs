// Preloaded into a child process (tests, benchmarks): reports the peak resident set size and
// the CPU time of all its threads at exit.
process.on('exit', () => {
  const usage = process.resourceUsage();
  process.stderr.write(`\nmaxRSS_KB=${usage.maxRSS}\ncpuSeconds=${((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(2)}\n`);
});
