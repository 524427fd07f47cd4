// The bearer token lives in sessionStorage: it survives a reload of this tab,
// dies with the tab, and never travels in a URL after sign-in (the
// development sign-in link carries it in the fragment, which the browser never
// sends to the server; we move it to storage and erase it from the address bar).

const STORAGE_KEY = 'flowpilot.token'

export type Role = 'engineer' | 'admin' | 'viewer'

export interface Claims {
  sub: string
  account_id: string
  role: Role
  exp: number
}

export type SignOutReason = 'signed_out' | 'rejected'

type Listener = () => void
const listeners = new Set<Listener>()
let lastSignOutReason: SignOutReason | null = null

function notify(): void {
  for (const listener of listeners) listener()
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY)
  } catch {
    return null
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token)
  lastSignOutReason = null
  notify()
}

export function signOut(reason: SignOutReason): void {
  sessionStorage.removeItem(STORAGE_KEY)
  lastSignOutReason = reason
  notify()
}

export function signOutReason(): SignOutReason | null {
  return lastSignOutReason
}

/** Moves `#token=...` from the address bar into sessionStorage. */
export function takeTokenFromFragment(): void {
  const hash = window.location.hash
  if (!hash.startsWith('#')) return
  const params = new URLSearchParams(hash.slice(1))
  const token = params.get('token')
  if (!token) return
  sessionStorage.setItem(STORAGE_KEY, token.trim())
  // Erase it from the address bar and from this history entry.
  window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search)
}

function base64UrlDecode(segment: string): string {
  const padded = segment.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(segment.length / 4) * 4, '=')
  const binary = atob(padded)
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
  return new TextDecoder().decode(bytes)
}

/** The token's claims, read without verifying it (the gateway verifies). */
export function readClaims(token: string | null): Claims | null {
  if (!token) return null
  const parts = token.split('.')
  if (parts.length !== 3) return null
  try {
    const payload = JSON.parse(base64UrlDecode(parts[1])) as Partial<Claims>
    if (typeof payload.sub !== 'string' || typeof payload.role !== 'string') return null
    return {
      sub: payload.sub,
      account_id: String(payload.account_id ?? ''),
      role: payload.role as Role,
      exp: Number(payload.exp ?? 0),
    }
  } catch {
    return null
  }
}
