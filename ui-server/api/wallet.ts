/** Routes of the wallet: balance, addresses, history, withdrawals, the mnemonic. */
import { reauthenticate } from '../context.ts';
import { MnemonicBody, WithdrawBody } from '../schemas.ts';
import { type ApiRoute, route } from './route.ts';
import { REAUTH, REAUTH_RESPONSES } from './settings.ts';

const sats = 'satoshis as a decimal string';

export const WALLET_ROUTES: readonly ApiRoute[] = [
  route({
    method: 'get',
    path: '/api/wallet',
    summary: 'Wallet balance',
    description: `\`{network, balance: {confirmed, unconfirmed, reserved, spendable}, height}\` (${sats}).`,
    responses: { 200: 'wallet', 503: 'wallet not available yet (says why)' },
    response: 'WalletView',
    handler: async ({ ctx }) => ctx.service.wallet(),
  }),
  route({
    method: 'get',
    path: '/api/account',
    summary: 'Equity: wallet, margin in contracts, unrealised P/L',
    description:
      `\`{wallet, inContracts, unrealised, equity, positions, unpriced}\` (${sats}): ` +
      '`inContracts` is the own margin of every contract from its lock until it settles; ' +
      '`unrealised` their P/L at their payout figure now (after the lock, close and bump fees); ' +
      '`equity` the wallet plus what they pay now. `wallet` and `equity` are null without a ' +
      'wallet. The live feed sends it as its `account` event.',
    responses: { 200: 'account' },
    response: 'AccountView',
    handler: async ({ ctx }) => ctx.service.account(),
  }),
  route({
    method: 'post',
    path: '/api/wallet/address',
    summary: 'A fresh receive address',
    responses: { 200: '`{address}`', 503: 'wallet not available' },
    handler: async ({ ctx }) => ({ address: await ctx.service.receiveAddress() }),
  }),
  route({
    method: 'get',
    path: '/api/wallet/history',
    summary: 'Wallet transactions, newest first, each named',
    description:
      '`kind` says what a transaction was: a CFD’s `lock`, `close`, `cet`, `refund`, `punish` ' +
      'or `commit` (with its `cfdId`), a `feeBump` the node paid for one, else a `deposit` or ' +
      `a \`withdraw\`. Amounts are ${sats}.`,
    responses: {
      200: '`{transactions: [{txid, height, received, sent, net, kind, cfdId}]}`',
      503: 'wallet not available',
    },
    response: '{ transactions: WalletHistoryRow[] }',
    handler: async ({ ctx }) => ({ transactions: await ctx.service.history() }),
  }),
  route({
    method: 'post',
    path: '/api/wallet/withdraw',
    summary: 'Withdraw to an address',
    description:
      'Syncs, signs (RBF), broadcasts and checks the transaction reached the mempool. ' +
      `Answers \`{txid, amount, fee, vsize, status}\`.${REAUTH}`,
    body: WithdrawBody,
    responses: {
      200: 'broadcast',
      ...REAUTH_RESPONSES,
      400: 'bad address (e.g. another network), dust, insufficient funds',
      502: 'the chain backend refused the transaction',
      503: 'wallet or chain not available',
    },
    response: 'WithdrawalView',
    handler: async ({ body, request, ctx }) => {
      await reauthenticate(ctx, request, body.password, 'a withdrawal');
      const amount = body.amount === 'all' ? undefined : body.amount;
      const result = await ctx.service.withdraw(body.address, amount, body.feeRate);
      request.log.info({ txid: result.txid, amount: result.amount }, 'withdrawal broadcast');
      ctx.live.walletChanged();
      return result;
    },
  }),
  route({
    method: 'post',
    path: '/api/wallet/mnemonic',
    summary: 'Export the wallet mnemonic (re-authenticate with the password)',
    body: MnemonicBody,
    responses: {
      200: '`{mnemonic, words}`',
      403: 'wrong password',
      429: 'throttled',
      503: 'no wallet',
    },
    handler: async ({ body, request, reply, ctx }) => {
      await reauthenticate(ctx, request, body.password, 'exporting the mnemonic', true);
      const mnemonic = ctx.service.exportMnemonic();
      reply.header('cache-control', 'no-store');
      request.log.warn('wallet mnemonic exported');
      return { mnemonic, words: mnemonic.split(' ').length };
    },
  }),
];
