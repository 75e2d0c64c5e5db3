// Printed before the test suite so CI logs show which runtime ran it (the `node` dev dependency pins 24).
import { arch, platform } from 'node:os';

console.log(`dlcfd tests on node ${process.version} (${platform()}-${arch()})`);
