// Package redisconn opens MUTT's Redis client: production timeouts, and
// credentials taken from the secrets Cache on every new connection, trying
// REDIS_PASS_CURRENT then REDIS_PASS_NEXT so a password rotation never fails
// a command.
//
// It must not import hotpath, api or workers packages: it is used by all of
// them. Secret values never reach its logs, errors or metrics.
package redisconn
