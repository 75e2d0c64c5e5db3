#!/usr/bin/env node
// Launcher: dlcfd is TypeScript run by Node's own type stripping, which needs Node 24.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `dlcfd needs Node 24 or newer (this is ${process.version}); run it through npm (npm run dlcfd -- …) or npx so the pinned Node is used\n`,
  );
  process.exit(1);
}
const { main } = await import('../node/cli.ts');
// Exit once the subcommand has returned: it has closed what it opened, and a library's stray
// timer or socket must not keep a stopped node alive.
process.exit(await main(process.argv.slice(2)));
