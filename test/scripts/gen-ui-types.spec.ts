// The UI's types are generated from the route table: the checked-in file must be what it generates.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateUiTypes, UI_TYPES_FILE } from '../../scripts/gen-ui-types.ts';

describe('scripts/gen-ui-types', () => {
  it('ui/src/types.ts is what the route table generates (npm run gen:ui-types)', () => {
    assert.equal(readFileSync(UI_TYPES_FILE, 'utf8'), generateUiTypes());
  });

  it('names every type the routes answer and the live feed sends', () => {
    const text = generateUiTypes();
    for (const name of ['CfdView', 'OffersView', 'WalletState', 'MakerPolicy', 'TakerLimitsView']) {
      assert.match(text, new RegExp(`export (interface|type) ${name}\\b`), name);
    }
  });
});
