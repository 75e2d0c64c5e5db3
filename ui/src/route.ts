// Client-side routes in the URL's hash, so a position's detail has an address that survives a
// reload and the back button: `#/` the dashboard, `#/cfd/<id>` one position. The node serves the
// same page for every path; the hash never reaches it.
import { useEffect, useState } from 'react';

export type Route = { page: 'home' } | { page: 'cfd'; id: string };

export function parseRoute(hash: string): Route {
  const m = /^#\/cfd\/([^/?#]+)$/.exec(hash);
  if (m) {
    try {
      return { page: 'cfd', id: decodeURIComponent(m[1]!) };
    } catch {
      // a malformed escape: not a position's address
    }
  }
  return { page: 'home' };
}

export const cfdHref = (id: string): string => `#/cfd/${encodeURIComponent(id)}`;
export const HOME_HREF = '#/';

/** Goes to `href` as a new history entry (the back button returns). */
export function navigate(href: string): void {
  if (window.location.hash !== href) window.location.hash = href;
}

/** The current route, following the hash (links, `navigate`, back and forward). */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
