<?php

/**
 * WordPress's $wpdb as far as CartStore uses it, on PDO SQLite in memory, and a dbDelta()
 * stand-in that records the DDL it is given (MySQL-only, so it is not run on SQLite: reset()
 * creates the cart table in SQLite instead). wpdb::reset() between tests.
 *
 * With BAZGASHT_TEST_MYSQL set (a PDO DSN such as "mysql:host=127.0.0.1;port=3306", user
 * BAZGASHT_TEST_MYSQL_USER or root, no password) the same statements run on MariaDB/MySQL, the
 * engine WordPress uses, in a database of this process's own, and reset() creates the table with
 * CartStore::install()'s own DDL (what dbDelta runs for a table that does not exist yet).
 *
 * Like the real wpdb, every value read back is a string (or null): the code under test casts.
 */

declare(strict_types=1);

if (!defined('OBJECT')) {
    define('OBJECT', 'OBJECT');
}
if (!defined('ARRAY_A')) {
    define('ARRAY_A', 'ARRAY_A');
}
if (!defined('ARRAY_N')) {
    define('ARRAY_N', 'ARRAY_N');
}

// phpcs:ignore Squiz.Classes.ValidClassName.NotCamelCaps
class wpdb
{
    /** @var list<string> what dbDelta() was handed */
    public static array $deltas = [];

    private static ?PDO $mysql = null;

    public string $prefix = 'wp_';
    public int $insert_id = 0;
    public string $last_error = '';
    public ?string $last_query = null;
    public PDO $pdo;

    /** A fresh database with the plugin's cart table, installed as $GLOBALS['wpdb']. */
    public static function reset(): self
    {
        self::$deltas = [];
        $db = new self();
        if (self::mysql() !== null) {
            $GLOBALS['wpdb'] = $db;
            $db->pdo->exec('DROP TABLE IF EXISTS wp_bazgasht_carts');
            // Before the plugin's classes can load (this file is read first), there is no table.
            if (class_exists(\Bazgasht\CartStore::class)) {
                \Bazgasht\CartStore::install();
                self::$deltas = [];
            }
            return $db;
        }
        $db->pdo->exec(
            'CREATE TABLE wp_bazgasht_carts (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                token TEXT NOT NULL UNIQUE,
                session_key TEXT NOT NULL DEFAULT \'\',
                phone TEXT NOT NULL DEFAULT \'\',
                first_name TEXT NOT NULL DEFAULT \'\',
                last_name TEXT NOT NULL DEFAULT \'\',
                email TEXT NOT NULL DEFAULT \'\',
                items TEXT NOT NULL DEFAULT \'[]\',
                total TEXT NOT NULL DEFAULT \'0\',
                currency TEXT NOT NULL DEFAULT \'\',
                consent INTEGER NOT NULL DEFAULT 1,
                order_id INTEGER NOT NULL DEFAULT 0,
                payload_sha256 TEXT NOT NULL DEFAULT \'\',
                created_gmt TEXT NOT NULL,
                modified_gmt TEXT NOT NULL
            )'
        );
        $GLOBALS['wpdb'] = $db;
        return $db;
    }

    public function __construct()
    {
        $this->pdo = self::mysql()
            ?? new PDO('sqlite::memory:', null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    }

    /** MariaDB/MySQL when BAZGASHT_TEST_MYSQL names one: a database of this process's own. */
    public static function mysql(): ?PDO
    {
        $dsn = getenv('BAZGASHT_TEST_MYSQL');
        if (!is_string($dsn) || $dsn === '') {
            return null;
        }
        if (self::$mysql === null) {
            $user = getenv('BAZGASHT_TEST_MYSQL_USER') ?: 'root';
            self::$mysql = new PDO($dsn . ';charset=utf8mb4', $user, '', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
            $name = 'bazgasht_plugin_' . getmypid();
            self::$mysql->exec("DROP DATABASE IF EXISTS $name");
            self::$mysql->exec("CREATE DATABASE $name CHARACTER SET utf8mb4");
            self::$mysql->exec("USE $name");
            register_shutdown_function(static fn () => self::$mysql?->exec("DROP DATABASE IF EXISTS $name"));
        }
        return self::$mysql;
    }

    public function get_charset_collate(): string
    {
        return 'DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci';
    }

    /** %s, %d, %f, %i and %% as WordPress reads them; values quoted by PDO. */
    public function prepare(string $query, mixed ...$args): string
    {
        if (count($args) === 1 && is_array($args[0])) {
            $args = $args[0];
        }
        $i = 0;
        return preg_replace_callback(
            '/%%|%[sdfi]/',
            function (array $m) use (&$i, $args): string {
                if ($m[0] === '%%') {
                    return '%';
                }
                $value = $args[$i++] ?? null;
                return match ($m[0]) {
                    '%d' => (string) (int) $value,
                    '%f' => (string) (float) $value,
                    '%i' => '`' . str_replace('`', '``', (string) $value) . '`',
                    default => $this->pdo->quote((string) $value),
                };
            },
            $query
        );
    }

    public function esc_like(string $text): string
    {
        return addcslashes($text, '_%\\');
    }

    /** Rows affected (or, for SELECT, rows found), false on error. */
    public function query(string $query): int|false
    {
        $this->last_query = $query;
        try {
            $statement = $this->pdo->query($this->sqlite($query));
        } catch (PDOException $e) {
            $this->last_error = $e->getMessage();
            return false;
        }
        if (preg_match('/^\s*SELECT/i', $query)) {
            return count($statement->fetchAll());
        }
        return $statement->rowCount();
    }

    public function get_results(string $query, string $output = OBJECT): array
    {
        $this->last_query = $query;
        $rows = $this->pdo->query($this->sqlite($query))->fetchAll(PDO::FETCH_ASSOC);
        return array_map(fn (array $row) => $this->shape($row, $output), $rows);
    }

    public function get_row(string $query, string $output = OBJECT, int $y = 0): array|object|null
    {
        return $this->get_results($query, $output)[$y] ?? null;
    }

    public function get_var(string $query, int $x = 0, int $y = 0): ?string
    {
        $row = $this->get_row($query, ARRAY_N, $y);
        return $row[$x] ?? null;
    }

    public function insert(string $table, array $data, array|string|null $format = null): int|false
    {
        $columns = array_keys($data);
        $sql = sprintf(
            'INSERT INTO %s (%s) VALUES (%s)',
            $table,
            implode(', ', $columns),
            implode(', ', array_fill(0, count($columns), '?'))
        );
        if ($this->run($sql, array_values($data)) === false) {
            return false;
        }
        $this->insert_id = (int) $this->pdo->lastInsertId();
        return 1;
    }

    public function update(
        string $table,
        array $data,
        array $where,
        mixed $format = null,
        mixed $whereFormat = null
    ): int|false {
        $set = implode(', ', array_map(static fn ($c) => "$c = ?", array_keys($data)));
        $cond = implode(' AND ', array_map(static fn ($c) => "$c = ?", array_keys($where)));
        return $this->run("UPDATE $table SET $set WHERE $cond", [...array_values($data), ...array_values($where)]);
    }

    public function delete(string $table, array $where, mixed $whereFormat = null): int|false
    {
        $cond = implode(' AND ', array_map(static fn ($c) => "$c = ?", array_keys($where)));
        return $this->run("DELETE FROM $table WHERE $cond", array_values($where));
    }

    private function run(string $sql, array $values): int|false
    {
        $this->last_query = $sql;
        try {
            $statement = $this->pdo->prepare($sql);
            $statement->execute(array_map(static fn ($v) => is_bool($v) ? (int) $v : $v, $values));
        } catch (PDOException $e) {
            $this->last_error = $e->getMessage();
            return false;
        }
        return $statement->rowCount();
    }

    /** MySQL's identifier quotes are SQLite's too; nothing else is translated. */
    private function sqlite(string $query): string
    {
        return $query;
    }

    private function shape(array $row, string $output): array|object
    {
        $row = array_map(static fn ($v) => $v === null ? null : (string) $v, $row);
        return match ($output) {
            ARRAY_A => $row,
            ARRAY_N => array_values($row),
            default => (object) $row,
        };
    }
}

if (!function_exists('dbDelta')) {
    /**
     * wp-admin/includes/upgrade.php's dbDelta(): records the DDL; on MariaDB it also runs it for a
     * table that does not exist yet, as dbDelta does (comparing and altering is WordPress's).
     */
    function dbDelta(string|array $queries = '', bool $execute = true): array
    {
        foreach ((array) $queries as $query) {
            wpdb::$deltas[] = $query;
            $mysql = wpdb::mysql();
            if ($execute && $mysql !== null && preg_match('/^\s*CREATE TABLE\s+(\S+)/i', $query, $m)) {
                if ($mysql->query('SHOW TABLES LIKE ' . $mysql->quote($m[1]))->fetchColumn() === false) {
                    $mysql->exec($query);
                }
            }
        }
        return [];
    }
}

wpdb::reset();
