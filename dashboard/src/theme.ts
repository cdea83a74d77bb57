// Light and dark themes. The page follows prefers-color-scheme until the
// user picks one with the toggle, and the pick is kept in localStorage.
import { useEffect, useState } from 'preact/hooks'

export type Theme = 'light' | 'dark'
const KEY = 'monit.theme'
const media = window.matchMedia('(prefers-color-scheme: dark)')
const listeners = new Set<(theme: Theme) => void>()

function chosen(): Theme | null {
  const value = localStorage.getItem(KEY)
  return value === 'light' || value === 'dark' ? value : null
}

export function currentTheme(): Theme {
  return chosen() ?? (media.matches ? 'dark' : 'light')
}

function apply(): void {
  const theme = currentTheme()
  document.documentElement.dataset.theme = theme
  for (const listener of listeners) listener(theme)
}

export function setTheme(theme: Theme): void {
  localStorage.setItem(KEY, theme)
  apply()
}

/** Sets the page's theme and follows changes of the system setting. */
export function initTheme(): void {
  media.addEventListener('change', apply)
  apply()
}

export function useTheme(): Theme {
  const [theme, set] = useState(currentTheme())
  useEffect(() => {
    listeners.add(set)
    return () => {
      listeners.delete(set)
    }
  }, [])
  return theme
}

/** Returns the value of a CSS custom property of the page, such as --fg. */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim()
}
