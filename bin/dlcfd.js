#!/usr/bin/env node
// Launcher: dlcfd is TypeScript run by Node's own type stripping, which needs Node 24.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `dlcfd needs Node 24 or newer (this is ${process.version}); run it through npm (npm run dlcfd -- …) or npx so the pinned Node is used\n`,
  );
  process.exit(1);
}
// V8 sizes the young generation from the machine's memory: up to 128 MB on a large one, resident
// for nothing in a node whose garbage is short-lived. Relaunch once with it capped at 2 × 16 MB:
// process.execve replaces this process (same pid, no parent left waiting); where it does not
// exist (Windows) or the flag is set already, run as is.
const YOUNG_GENERATION_FLAG = '--max-semi-space-size=16';
const flagged = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) =>
  a.startsWith('--max-semi-space-size'),
);
if (!flagged && typeof process.execve === 'function') {
  try {
    process.execve(process.execPath, [
      process.execPath,
      YOUNG_GENERATION_FLAG,
      ...process.execArgv,
      process.argv[1],
      ...process.argv.slice(2),
    ]);
  } catch {
    // Run without the cap: it saves memory, nothing depends on it.
  }
}
const { main } = await import('../node/cli.ts');
// Exit once the subcommand has returned: it has closed what it opened, and a library's stray
// timer or socket must not keep a stopped node alive.
process.exit(await main(process.argv.slice(2)));
