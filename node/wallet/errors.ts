/** Named errors of the wallet. */
import { NamedError } from '../../model/named-error.ts';

export class WalletError extends NamedError {}

/** Not enough spendable coins for the amount plus fees. */
export class InsufficientFundsError extends WalletError {}

/** An amount that cannot be spent (zero, negative, dust, beyond 21 M BTC). */
export class InvalidSpendError extends WalletError {}

/** The mnemonic file is missing words, has a bad checksum, or is readable by others. */
export class MnemonicFileError extends WalletError {}

/** No reservation with that id (released, expired, or never made). */
export class UnknownReservationError extends WalletError {}

/** A CPFP child (or its replacement) would pay more fee than the budget the caller allowed. */
export class FeeBudgetExceededError extends WalletError {}
