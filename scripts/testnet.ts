// `npm run testnet` brings up a local network (chain, price feed, oracle, maker, takers).
// It arrives with issue 7; until then it says so instead of pretending.
console.error(
  'npm run testnet: the local testnet is not built yet (it comes with the web UI and testnet issue). ' +
    'Today: npm test runs the suite; npm run bench -- eventstore runs the event store benchmark.',
);
process.exitCode = 1;
