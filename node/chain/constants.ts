/** Chain constants shared by the embedded node, its CLI and clients (no heavy imports here). */

/** Bitcoin Core's cookie user name; the password is the hex after the colon in `.cookie`. */
export const COOKIE_USER = '__cookie__';

/** Cookie file name inside the data dir, as Bitcoin Core names it. */
export const COOKIE_FILE = '.cookie';
