// Roles of API users and the access rule each route declares in its
// `config.access`. The onRequest hook in plugin.ts enforces the rules.

/** API user roles, from most to least powerful. */
export const Role = {
  admin: 'admin',
  operator: 'operator',
  viewer: 'viewer',
} as const
export type Role = (typeof Role)[keyof typeof Role]

export const ROLES: readonly Role[] = [Role.admin, Role.operator, Role.viewer]

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}

/** Rule that admits users with one of `roles`, and with `self` also the user named by `:id`. */
export interface RoleRule {
  roles: readonly Role[]
  self?: boolean
}

/**
 * A route's access rule: a RoleRule, 'public' (no token needed), or
 * 'agent-token' (the route checks agent tokens itself, so the user-token hook skips it).
 */
export type RouteAccess = RoleRule | 'public' | 'agent-token'

/** The rules the routes use, so each route names its access in one word. */
export const Access = {
  /** Every signed-in user: reads of streams, agents and metrics. */
  read: { roles: [Role.admin, Role.operator, Role.viewer] },
  /** Changes to streams and agents. */
  operate: { roles: [Role.admin, Role.operator] },
  admin: { roles: [Role.admin] },
  /** Admins, and any user acting on their own account (`:id` is their id). */
  adminOrSelf: { roles: [Role.admin], self: true },
  public: 'public',
  agentToken: 'agent-token',
} as const satisfies Record<string, RouteAccess>

/** Returns whether a user with `role` and `userId` passes `rule` on a request whose `:id` is paramId. */
export function allows(rule: RoleRule, role: Role, userId: string, paramId: unknown): boolean {
  if (rule.roles.includes(role)) return true
  return rule.self === true && typeof paramId === 'string' && paramId === userId
}
