// The dlcfd process runner the testnet script uses, for command-line tests.
export * from '../../scripts/lib/dlcfd-process.ts';
