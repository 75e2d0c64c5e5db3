/** The version the API reports (`/api/node`, the OpenAPI document): node/version.ts, from package.json. */
export { VERSION } from '../version.ts';
