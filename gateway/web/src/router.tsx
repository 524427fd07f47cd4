// A dozen lines of history routing: the console has four screens, so a
// router dependency would cost more than it saves.
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react'

const listeners = new Set<() => void>()

function notify(): void {
  for (const listener of listeners) listener()
}

window.addEventListener('popstate', notify)

function subscribe(listener: () => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return
  if (options.replace) window.history.replaceState(null, '', to)
  else window.history.pushState(null, '', to)
  notify()
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname)
}

export type Route =
  | { name: 'sessions' }
  | { name: 'ai-session'; sessionId: string }
  | { name: 'script-builder'; sessionId: string | null }
  | { name: 'templates' }
  | { name: 'analytics' }
  | { name: 'not-found' }

export function matchRoute(path: string): Route {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path
  if (trimmed === '/' || trimmed === '') return { name: 'sessions' }
  let match = /^\/ai-sessions\/([^/]+)$/.exec(trimmed)
  if (match) return { name: 'ai-session', sessionId: decodeURIComponent(match[1]) }
  if (trimmed === '/script-builder') return { name: 'script-builder', sessionId: null }
  match = /^\/script-builder\/([^/]+)$/.exec(trimmed)
  if (match) return { name: 'script-builder', sessionId: decodeURIComponent(match[1]) }
  if (trimmed === '/script-templates') return { name: 'templates' }
  if (trimmed === '/analytics') return { name: 'analytics' }
  return { name: 'not-found' }
}

export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const { to, onClick, ...rest } = props
  function handleClick(event: MouseEvent<HTMLAnchorElement>): void {
    onClick?.(event)
    if (event.defaultPrevented || event.button !== 0) return
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    navigate(to)
  }
  return <a href={to} onClick={handleClick} {...rest} />
}
