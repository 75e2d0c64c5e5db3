/**
 * The version of dlcfd. package.json is the one place it is written; the command line (`dlcfd
 * --version`), identify (libp2p `nodeInfo`) and the API (`/api/node`, the OpenAPI document) read it
 * from here.
 */
import { readFileSync } from 'node:fs';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;
