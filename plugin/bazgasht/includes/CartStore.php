<?php

/**
 * The plugin's cart table, {prefix}bazgasht_carts: one row per cart token, what the cart topic's
 * body is built from at delivery time. Read and written through WordPress's $wpdb only.
 *
 * @package Bazgasht
 */

declare(strict_types=1);

namespace Bazgasht;

final class CartStore
{
    /** The columns a row has besides its id (docs/plugin.md, "What the plugin keeps"). */
    public const COLUMNS = [
        'token', 'session_key', 'phone', 'first_name', 'last_name', 'email', 'items', 'total',
        'currency', 'consent', 'order_id', 'payload_sha256', 'created_gmt', 'modified_gmt',
    ];

    public static function table(): string
    {
        return self::db()->prefix . Options::CART_TABLE;
    }

    /** Creates or upgrades the table (dbDelta compares and alters; MySQL DDL). */
    public static function install(): void
    {
        if (!function_exists('dbDelta')) {
            require_once ABSPATH . 'wp-admin/includes/upgrade.php';
        }
        $table = self::table();
        $collate = self::db()->get_charset_collate();
        // dbDelta's own grammar: one column per line, two spaces after PRIMARY KEY, KEY not INDEX.
        dbDelta("CREATE TABLE {$table} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  token varchar(64) NOT NULL,
  session_key varchar(100) NOT NULL DEFAULT '',
  phone varchar(32) NOT NULL DEFAULT '',
  first_name varchar(200) NOT NULL DEFAULT '',
  last_name varchar(200) NOT NULL DEFAULT '',
  email varchar(320) NOT NULL DEFAULT '',
  items longtext NOT NULL,
  total varchar(40) NOT NULL DEFAULT '0',
  currency varchar(8) NOT NULL DEFAULT '',
  consent tinyint(1) NOT NULL DEFAULT 1,
  order_id bigint(20) unsigned NOT NULL DEFAULT 0,
  payload_sha256 char(64) NOT NULL DEFAULT '',
  created_gmt datetime NOT NULL,
  modified_gmt datetime NOT NULL,
  PRIMARY KEY  (id),
  UNIQUE KEY token (token),
  KEY modified_gmt (modified_gmt)
) {$collate};");
    }

    public static function drop(): void
    {
        self::db()->query('DROP TABLE IF EXISTS ' . self::table());
    }

    /** Deletes the rows last changed before $olderThanUnix; how many went. */
    public static function purge(int $olderThanUnix): int
    {
        $db = self::db();
        $deleted = $db->query($db->prepare(
            'DELETE FROM ' . self::table() . ' WHERE modified_gmt < %s',
            self::dbTime($olderThanUnix)
        ));
        return is_int($deleted) ? $deleted : 0;
    }

    /**
     * The row for $token with typed values (items decoded, consent bool, order_id int,
     * modified_gmt as "Y-m-d\TH:i:s"), or null.
     */
    public static function find(string $token): ?array
    {
        if ($token === '') {
            return null;
        }
        $db = self::db();
        $row = $db->get_row($db->prepare('SELECT * FROM ' . self::table() . ' WHERE token = %s', $token), ARRAY_A);
        return is_array($row) ? self::typed($row) : null;
    }

    /**
     * Inserts or updates the row of $row['token'] (the columns given; items as a list).
     * created_gmt is set on insert, modified_gmt when not given.
     */
    public static function save(array $row): void
    {
        $data = array_intersect_key($row, array_flip(self::COLUMNS));
        if (array_key_exists('items', $data)) {
            $data['items'] = (string) wp_json_encode(array_values((array) $data['items']));
        }
        foreach (['session_key', 'phone', 'first_name', 'last_name', 'email', 'total', 'currency'] as $text) {
            if (array_key_exists($text, $data)) {
                $data[$text] = (string) $data[$text];  // null (no phone) is kept as ''
            }
        }
        if (array_key_exists('consent', $data)) {
            $data['consent'] = $data['consent'] ? 1 : 0;
        }
        foreach (['created_gmt', 'modified_gmt'] as $date) {
            if (isset($data[$date])) {
                $data[$date] = self::dbTime(self::unix((string) $data[$date]));
            }
        }
        $data['modified_gmt'] ??= self::dbTime(Clock::now());
        $db = self::db();
        if (self::find((string) $row['token']) === null) {
            $data['created_gmt'] ??= self::dbTime(Clock::now());
            $data += ['items' => '[]'];
            $db->insert(self::table(), $data);
            return;
        }
        unset($data['token'], $data['created_gmt']);
        $db->update(self::table(), $data, ['token' => (string) $row['token']]);
    }

    /** The cart became an order: its row keeps the id (restore links then say "already ordered"). */
    public static function markOrdered(string $token, int $orderId): void
    {
        if ($token !== '' && $orderId > 0 && self::find($token) !== null) {
            self::db()->update(self::table(), ['order_id' => $orderId], ['token' => $token]);
        }
    }

    /** "Y-m-d H:i:s", as MySQL's datetime holds it (and compares as text in SQLite). */
    public static function dbTime(int $unix): string
    {
        return gmdate('Y-m-d H:i:s', $unix);
    }

    private static function unix(string $gmt): int
    {
        $date = \DateTimeImmutable::createFromFormat('!Y-m-d?H:i:s', substr($gmt, 0, 19), new \DateTimeZone('UTC'));
        return $date ? $date->getTimestamp() : Clock::now();
    }

    private static function typed(array $row): array
    {
        $items = json_decode((string) ($row['items'] ?? '[]'), true);
        $row['items'] = is_array($items) ? array_values(array_filter($items, 'is_array')) : [];
        $row['consent'] = (bool) (int) ($row['consent'] ?? 1);
        $row['order_id'] = (int) ($row['order_id'] ?? 0);
        foreach (['token', 'session_key', 'phone', 'first_name', 'last_name', 'email', 'total', 'currency'] as $text) {
            $row[$text] = (string) ($row[$text] ?? '');
        }
        $row['payload_sha256'] = (string) ($row['payload_sha256'] ?? '');
        foreach (['created_gmt', 'modified_gmt'] as $date) {
            $row[$date] = Clock::gmt(self::unix((string) ($row[$date] ?? '')));
        }
        return $row;
    }

    private static function db(): \wpdb
    {
        global $wpdb;
        return $wpdb;
    }
}
