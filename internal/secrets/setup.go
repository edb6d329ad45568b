package secrets

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// RedisUserRules are the ACL rules of MUTT's Redis user after its key and
// channel patterns, in order (a later rule wins over an earlier one).
//
// The hot path needs streams (XADD, XREADGROUP, XAUTOCLAIM, XCLAIM, XACK,
// XDEL, XLEN, XRANGE, XPENDING, XGROUP, XINFO), scripts (EVAL, EVALSHA,
// SCRIPT LOAD), strings and hashes (GET, MGET, SET, DEL, INCRBY, EXPIRE,
// HSET, HGETALL, HMGET, HINCRBY), pub/sub, SCAN, PING and MULTI/EXEC: the
// categories below cover them; TIME (the rate limiter's script reads the
// server clock) belongs to none of them and is granted by name. -@dangerous then takes back what those
// categories bring that no MUTT process needs and that could hurt the whole
// server (KEYS, FLUSHALL, FLUSHDB, CONFIG, ACL, DEBUG, SHUTDOWN, MONITOR,
// CLIENT KILL, MIGRATE, RESTORE, SORT, INFO…). INFO is therefore not granted:
// it is @dangerous, nothing in MUTT calls it, and it describes the server to
// anyone holding the password. FUNCTION is denied as well: MUTT uses EVAL
// scripts only, and FUNCTION FLUSH/DELETE would affect every tenant. On a
// Redis Cluster the client reads the slot map (CLUSTER SLOTS or SHARDS) and
// CLUSTER INFO, which are granted by name; ASKING, READONLY, WAIT and
// WAITAOF are in @connection.
var RedisUserRules = []string{
	"-@all", "+@read", "+@write", "+@stream", "+@pubsub", "+@scripting", "+@connection", "+@transaction",
	"+@keyspace", "+ping", "+time", "-@dangerous", "-flushall", "-flushdb", "-function", "-script|flush", "-script|kill",
	"+cluster|slots", "+cluster|shards", "+cluster|info",
}

// SetupRedisUser creates or updates the dedicated ACL user: enabled, keys
// and channels under prefix only, RedisUserRules, and password added to its
// passwords. It is idempotent and never removes a password (a rotation in
// progress may have added NEXT next to CURRENT; removing the old one is the
// rotation's job). The default user is never touched here (see
// DisableDefaultRedisUser). ACL SETUSER lives in memory only: call
// PersistRedisACL after it.
func SetupRedisUser(ctx context.Context, admin redis.UniversalClient, user, password, prefix string) error {
	if password == "" {
		return fmt.Errorf("set up redis user %q: password is empty", user)
	}
	return setRedisUser(ctx, admin, user, prefix, password)
}

// setRedisUser is ACL SETUSER with MUTT's rules and every non-empty password
// of passwords added.
func setRedisUser(ctx context.Context, admin redis.UniversalClient, user, prefix string, passwords ...string) error {
	switch {
	case user == "" || user == "default":
		return fmt.Errorf("set up redis user %q: a dedicated user is required, never the default user", user)
	case prefix == "":
		return fmt.Errorf("set up redis user %q: key prefix is empty (it would grant every key)", user)
	}
	args := []any{"ACL", "SETUSER", user, "on", "resetkeys", "~" + prefix + "*", "resetchannels", "&" + prefix + "*"}
	for _, r := range RedisUserRules {
		args = append(args, r)
	}
	added := 0
	for _, p := range passwords {
		if p != "" {
			args = append(args, ">"+p)
			added++
		}
	}
	if added == 0 {
		return fmt.Errorf("set up redis user %q: no password to give it", user)
	}
	err := ForEachRedisNode(ctx, admin, func(ctx context.Context, n redis.UniversalClient) error {
		return n.Do(ctx, args...).Err()
	})
	if err != nil {
		// Redis echoes the offending modifier, password included.
		msg := err.Error()
		for _, p := range passwords {
			if p != "" {
				msg = strings.ReplaceAll(msg, p, "[redacted]")
			}
		}
		return fmt.Errorf("set up redis user %q: %s", user, msg)
	}
	return nil
}

// EnsureRedisUser re-creates user, with MUTT's rules and every non-empty
// password of passwords, when Redis no longer knows it — what a restart of a
// Redis that does not persist its ACL leaves behind. A user that exists is
// left alone: a rotation may be changing its passwords, and only the
// rotation removes one. It persists what it re-created (PersistRedisACL).
// created says whether the user was missing, persisted where it was saved.
func EnsureRedisUser(ctx context.Context, admin redis.UniversalClient, user, prefix string, passwords ...string) (created bool, persisted ACLPersistence, err error) {
	// On a cluster each node is looked at alone: one that restarted without
	// its ACL lost the user while the others still have it.
	var mu sync.Mutex
	var kinds []ACLPersistence
	err = ForEachRedisNode(ctx, admin, func(ctx context.Context, n redis.UniversalClient) error {
		err := n.Do(ctx, "ACL", "GETUSER", user).Err()
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, redis.Nil):
			return fmt.Errorf("look up redis user %q: %w", user, err)
		}
		if err := setRedisUser(ctx, n, user, prefix, passwords...); err != nil {
			return err
		}
		p, err := PersistRedisACL(ctx, n)
		mu.Lock()
		created = true
		kinds = append(kinds, p)
		mu.Unlock()
		return err
	})
	return created, weakest(kinds), err
}

// weakest is the persistence of the node that keeps its users least well:
// what an operator must fix.
func weakest(kinds []ACLPersistence) ACLPersistence {
	var out ACLPersistence
	for _, k := range kinds {
		switch {
		case k == ACLNotPersisted:
			return k
		case k == ACLInConfigFile || out == "":
			out = k
		}
	}
	return out
}

// ACLPersistence is where a Redis server keeps its ACL users across a restart.
type ACLPersistence string

// The three answers of PersistRedisACL.
const (
	// ACLInACLFile: the server has an aclfile; ACL SAVE wrote the users to it.
	ACLInACLFile ACLPersistence = "aclfile"
	// ACLInConfigFile: no aclfile but a configuration file; CONFIG REWRITE
	// wrote the users (as "user" lines) to it.
	ACLInConfigFile ACLPersistence = "config file"
	// ACLNotPersisted: neither; the users live in memory only and are gone
	// after a restart (AOF and RDB never hold them).
	ACLNotPersisted ACLPersistence = "none"
)

// ACLPersistenceAdvice tells an operator what a deployment whose ACL users are
// not persisted needs.
const ACLPersistenceAdvice = "the Redis ACL users live in memory only and are lost when Redis restarts " +
	"(AOF and RDB do not hold them); start Redis with an aclfile (aclfile /data/users.acl) or from a " +
	"configuration file so they can be saved, and rerun mutt setup; until then the worker re-creates " +
	"missing users (docs/adr/0015-redis-acl-users.md)"

// PersistRedisACL saves the server's ACL users where they survive a restart:
// ACL SAVE when Redis uses an aclfile, else CONFIG REWRITE when it was started
// from a configuration file. With neither it returns ACLNotPersisted and no
// error; any other failure (a file Redis cannot write, a refused command) is
// an error naming the command.
func PersistRedisACL(ctx context.Context, admin redis.UniversalClient) (ACLPersistence, error) {
	var mu sync.Mutex
	var kinds []ACLPersistence
	err := ForEachRedisNode(ctx, admin, func(ctx context.Context, n redis.UniversalClient) error {
		p, err := persistRedisACL(ctx, n)
		mu.Lock()
		kinds = append(kinds, p)
		mu.Unlock()
		return err
	})
	if err != nil {
		return "", err
	}
	return weakest(kinds), nil
}

// persistRedisACL is PersistRedisACL on one server (on a cluster every node
// saves its own users: ACL SAVE is never replicated).
func persistRedisACL(ctx context.Context, admin redis.UniversalClient) (ACLPersistence, error) {
	err := admin.Do(ctx, "ACL", "SAVE").Err()
	if err == nil {
		return ACLInACLFile, nil
	}
	if !strings.Contains(err.Error(), "not configured to use an ACL file") {
		return "", fmt.Errorf("redis ACL SAVE: %w", err)
	}
	err = admin.Do(ctx, "CONFIG", "REWRITE").Err()
	if err == nil {
		return ACLInConfigFile, nil
	}
	if strings.Contains(err.Error(), "without a config file") {
		return ACLNotPersisted, nil
	}
	return "", fmt.Errorf("redis CONFIG REWRITE (to keep the ACL users across restarts): %w", err)
}

// RedisUserACL is what ACL GETUSER says of a user, as far as MUTT cares.
type RedisUserACL struct {
	Exists      bool
	Enabled     bool // flag "on"
	NoPass      bool // flag "nopass": any password (or none) logs in
	AllCommands bool // +@all with nothing taken back
	AllKeys     bool // ~* (or allkeys)
}

// InspectRedisUser reads user's ACL with ACL GETUSER on c. A client that may
// not run it gets Redis's NOPERM (or NOAUTH) error back.
func InspectRedisUser(ctx context.Context, c interface {
	Do(ctx context.Context, args ...any) *redis.Cmd
}, user string) (RedisUserACL, error) {
	v, err := c.Do(ctx, "ACL", "GETUSER", user).Result()
	if errors.Is(err, redis.Nil) {
		return RedisUserACL{}, nil
	}
	if err != nil {
		return RedisUserACL{}, fmt.Errorf("redis ACL GETUSER %s: %w", user, err)
	}
	fields := map[string]any{}
	switch r := v.(type) {
	case []any: // RESP2: name, value, name, value…
		for i := 0; i+1 < len(r); i += 2 {
			if k, ok := r[i].(string); ok {
				fields[k] = r[i+1]
			}
		}
	case map[any]any: // RESP3
		for k, val := range r {
			if ks, ok := k.(string); ok {
				fields[ks] = val
			}
		}
	default:
		return RedisUserACL{}, fmt.Errorf("redis ACL GETUSER %s: unexpected reply %T", user, v)
	}
	u := RedisUserACL{Exists: true}
	if flags, ok := fields["flags"].([]any); ok {
		for _, f := range flags {
			switch f {
			case "on":
				u.Enabled = true
			case "nopass":
				u.NoPass = true
			case "allcommands": // Redis 6
				u.AllCommands = true
			case "allkeys": // Redis 6
				u.AllKeys = true
			}
		}
	}
	if cmds, ok := fields["commands"].(string); ok && strings.TrimSpace(cmds) == "+@all" {
		u.AllCommands = true
	}
	if keys, ok := fields["keys"].(string); ok && strings.Contains(" "+keys+" ", " ~* ") {
		u.AllKeys = true
	}
	return u, nil
}

// DisableDefaultRedisUser resets Redis's default user (ACL SETUSER default
// reset: off, no password, no keys, no channels, no commands), so nothing
// reaches the data without logging in as a named user. The admin connection
// must itself be a named user: disabling the user it is logged in as would
// lock setup and the worker out the next time they connect, so that is
// refused before anything changes. Connections already logged in as default
// keep working until they close (Redis does not drop them).
func DisableDefaultRedisUser(ctx context.Context, admin redis.UniversalClient) error {
	if err := CheckNamedAdmin(ctx, admin); err != nil {
		return err
	}
	err := ForEachRedisNode(ctx, admin, func(ctx context.Context, n redis.UniversalClient) error {
		return n.Do(ctx, "ACL", "SETUSER", "default", "reset").Err()
	})
	if err != nil {
		return fmt.Errorf("disable the redis default user: %w", err)
	}
	return nil
}

// CheckNamedAdmin fails unless admin is logged in as a user other than
// default (ACL WHOAMI), with the steps that fix it.
func CheckNamedAdmin(ctx context.Context, admin redis.UniversalClient) error {
	who, err := admin.Do(ctx, "ACL", "WHOAMI").Text()
	if err != nil {
		return fmt.Errorf("redis ACL WHOAMI on REDIS_ADMIN_URL: %w", err)
	}
	if who == "default" {
		return errors.New("REDIS_ADMIN_URL: logs in as the Redis default user, which --disable-default-user would " +
			"lock out: create a named admin user first (ACL SETUSER mutt_admin on >PASSWORD ~* &* +@all, then " +
			"ACL SAVE or CONFIG REWRITE) and set REDIS_ADMIN_URL=redis://mutt_admin:PASSWORD@host:6379/0 " +
			"(docs/SECRET_ROTATION_PROCEDURE.md)")
	}
	return nil
}

// RoleOption changes what SetupPostgresRole does to an existing role.
type RoleOption func(*roleOptions)

type roleOptions struct{ resetPassword bool }

// ResetPassword makes SetupPostgresRole set the password of a role that
// already exists. Without it an existing role keeps its password, so running
// setup again during a rotation cannot undo the backend step.
func ResetPassword() RoleOption { return func(o *roleOptions) { o.resetPassword = true } }

// SetupPostgresRole creates the login role MUTT services use (if missing)
// with least privilege: LOGIN, no SUPERUSER/CREATEDB/CREATEROLE/REPLICATION/
// BYPASSRLS; CONNECT on database, USAGE on schema public and, on the tables
// that exist, exactly ServiceTablePrivileges (GrantPostgresRole). admin must
// be the owner of the schema objects (migrations run as it). The superuser
// and the admin role are refused. Idempotent.
func SetupPostgresRole(ctx context.Context, admin *pgxpool.Pool, role, password, database string, opts ...RoleOption) error {
	var o roleOptions
	for _, f := range opts {
		f(&o)
	}
	if role == "" || role == "postgres" {
		return fmt.Errorf("set up postgres role %q: a dedicated role is required, never the superuser", role)
	}
	var current string
	if err := admin.QueryRow(ctx, "SELECT current_user").Scan(&current); err != nil {
		return fmt.Errorf("set up postgres role %q: %w", role, err)
	}
	if current == role {
		return fmt.Errorf("set up postgres role %q: it is the admin role running setup", role)
	}
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
		return fmt.Errorf("set up postgres role %q: look up role: %w", role, err)
	}
	id := pgx.Identifier{role}.Sanitize()
	const attrs = " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
	if !exists {
		if password == "" {
			return fmt.Errorf("set up postgres role %q: password is empty", role)
		}
		lit, err := passwordLiteral(password)
		if err != nil {
			return fmt.Errorf("set up postgres role %q: %w", role, err)
		}
		if _, err := admin.Exec(ctx, "CREATE ROLE "+id+attrs+" PASSWORD "+lit); err != nil {
			var pgErr *pgconn.PgError
			// 42710: a concurrent setup created it first; go on.
			if !errors.As(err, &pgErr) || pgErr.Code != "42710" {
				return fmt.Errorf("set up postgres role %q: create: %w", role, err)
			}
		}
	} else {
		// Re-assert the attributes: setup is also how a drifted role is
		// brought back to least privilege.
		if _, err := admin.Exec(ctx, "ALTER ROLE "+id+attrs); err != nil {
			return fmt.Errorf("set up postgres role %q: alter: %w", role, err)
		}
		if o.resetPassword {
			if err := SetPostgresPassword(ctx, admin, role, password); err != nil {
				return err
			}
		}
	}
	db := pgx.Identifier{database}.Sanitize()
	for _, q := range []string{
		"GRANT CONNECT ON DATABASE " + db + " TO " + id,
		"GRANT USAGE ON SCHEMA public TO " + id,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			return fmt.Errorf("set up postgres role %q: %s: %w", role, q[:min(len(q), 40)], err)
		}
	}
	return GrantPostgresRole(ctx, admin, role)
}

// ServiceTablePrivileges are the table privileges of the services' role,
// nothing more: the admin API edits rules, dev hosts and teams and appends to
// config_audit_log; the alerter appends to event_audit_log; the API reads the
// audit (also the archive) and the SLO reports. Audit rows are never updated
// or deleted by a service (retention runs in the worker, as the admin), and
// schema_migrations is the migrator's alone. event_audit_log's partitions
// need no grant: PostgreSQL checks privileges on the table a query names, so
// inserts and reads through the parent work on every partition, also those
// partition maintenance creates later, while the partitions themselves stay
// closed to the role.
var ServiceTablePrivileges = map[string]string{
	"alert_rules":             "SELECT, INSERT, UPDATE, DELETE",
	"development_hosts":       "SELECT, INSERT, UPDATE, DELETE",
	"device_teams":            "SELECT, INSERT, UPDATE, DELETE",
	"config_audit_log":        "SELECT, INSERT",
	"event_audit_log":         "SELECT, INSERT",
	"event_audit_log_archive": "SELECT",
	"slo_reports":             "SELECT",
}

// GrantPostgresRole brings role's privileges on the schema's tables to
// exactly ServiceTablePrivileges (tables that do not exist yet are skipped;
// run it again after migrating) plus USAGE on the sequences the inserts
// draw ids from. It first revokes everything the role holds on the tables
// and sequences of schema public and the default privileges earlier
// versions granted (SELECT, INSERT, UPDATE, DELETE on every future table),
// so re-running setup or migrate narrows an existing installation. One
// transaction: a running service never sees the role without its grants.
func GrantPostgresRole(ctx context.Context, admin *pgxpool.Pool, role string) error {
	if role == "" || role == "postgres" {
		return fmt.Errorf("grant postgres role %q: a dedicated role is required, never the superuser", role)
	}
	id := pgx.Identifier{role}.Sanitize()
	return pgx.BeginFunc(ctx, admin, func(tx pgx.Tx) error {
		for _, q := range []string{
			"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + id,
			"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM " + id,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM " + id,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM " + id,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO " + id,
			"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " + id,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("grant postgres role %q: %s: %w", role, q[:min(len(q), 40)], err)
			}
		}
		tables := make([]string, 0, len(ServiceTablePrivileges))
		for t := range ServiceTablePrivileges {
			tables = append(tables, t)
		}
		slices.Sort(tables)
		for _, t := range tables {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", "public."+t).Scan(&exists); err != nil {
				return fmt.Errorf("grant postgres role %q: look up table %s: %w", role, t, err)
			}
			if !exists {
				continue
			}
			q := "GRANT " + ServiceTablePrivileges[t] + " ON TABLE " + pgx.Identifier{"public", t}.Sanitize() + " TO " + id
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("grant postgres role %q: on %s: %w", role, t, err)
			}
		}
		return nil
	})
}

// SetPostgresPassword sets role's password (ALTER ROLE … PASSWORD). The
// statement carries a SCRAM-SHA-256 verifier computed here, not the
// password, so the plaintext never reaches the server, its logs or
// pg_stat_statements.
func SetPostgresPassword(ctx context.Context, admin *pgxpool.Pool, role, password string) error {
	if password == "" {
		return fmt.Errorf("set password of postgres role %q: password is empty", role)
	}
	lit, err := passwordLiteral(password)
	if err != nil {
		return fmt.Errorf("set password of postgres role %q: %w", role, err)
	}
	if _, err := admin.Exec(ctx, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" PASSWORD "+lit); err != nil {
		return fmt.Errorf("set password of postgres role %q: %w", role, err)
	}
	return nil
}

// passwordLiteral is the SQL literal of the SCRAM verifier of password.
// DDL takes no bind parameters; the verifier's alphabet (base64, '$', ':')
// needs no quoting.
func passwordLiteral(password string) (string, error) {
	for _, r := range password {
		// PostgreSQL SASLprep-normalises non-ASCII passwords before hashing;
		// generated credentials are ASCII, and refusing the rest avoids a
		// verifier the server would never match.
		if r < 0x20 || r > 0x7e {
			return "", errors.New("password must be printable ASCII")
		}
	}
	v, err := scramVerifier(password)
	if err != nil {
		return "", err
	}
	return "'" + v + "'", nil
}

// scramVerifier builds SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>
// as PostgreSQL stores it (RFC 5802, 7677).
func scramVerifier(password string) (string, error) {
	const iterations = 4096
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("derive key: %w", err)
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	serverKey := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored[:]), b64(serverKey)), nil
}
