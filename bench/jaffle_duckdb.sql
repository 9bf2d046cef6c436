-- JaffleGaggle customer-360, hand-written DuckDB SQL (speed anchor for Plexus).
--
-- Computes the three tables `contacts`, `gaggles`, `corporate_accounts` exactly
-- as defined in docs/JAFFLE_GAGGLE_SPEC.md (section numbers below refer to it).
--
-- The data directory is substituted by bench/jaffle_duckdb.py for the literal
-- placeholder __DATA_DIR__ (an absolute path, single quotes doubled).
-- The statements create TEMP tables; the runner then selects them sorted by key.

-- ---------------------------------------------------------------------------
-- §1 Inputs: RFC 4180 CSVs with header, explicit types, naive timestamps.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE raw_user AS
SELECT * FROM read_csv('__DATA_DIR__/raw_user.csv',
    header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
    timestampformat = '%Y-%m-%d %H:%M:%S',
    columns = {'id': 'BIGINT', 'name': 'VARCHAR', 'email': 'VARCHAR',
               'gaggle_id': 'BIGINT', 'created_at': 'TIMESTAMP'});

CREATE OR REPLACE TEMP TABLE raw_gaggle AS
SELECT * FROM read_csv('__DATA_DIR__/raw_gaggle.csv',
    header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
    timestampformat = '%Y-%m-%d %H:%M:%S',
    columns = {'id': 'BIGINT', 'name': 'VARCHAR', 'created_at': 'TIMESTAMP'});

CREATE OR REPLACE TEMP TABLE raw_event AS
SELECT * FROM read_csv('__DATA_DIR__/raw_event.csv',
    header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
    timestampformat = '%Y-%m-%d %H:%M:%S',
    columns = {'event_id': 'BIGINT', 'user_id': 'BIGINT',
               'event_name': 'VARCHAR', 'timestamp': 'TIMESTAMP'});

CREATE OR REPLACE TEMP TABLE merged_user AS
SELECT * FROM read_csv('__DATA_DIR__/merged_user.csv',
    header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
    columns = {'old_email': 'VARCHAR', 'new_email': 'VARCHAR'});

-- §2 Domain map, one hop (C6). Should an old_domain appear twice, the smallest
-- new_domain is taken (the spec does not say; the data has no duplicates).
CREATE OR REPLACE TEMP TABLE domain_map AS
SELECT old_domain, min(new_domain) AS new_domain
FROM read_csv('__DATA_DIR__/merged_company_domain.csv',
    header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
    columns = {'old_domain': 'VARCHAR', 'new_domain': 'VARCHAR'})
GROUP BY old_domain;

-- ---------------------------------------------------------------------------
-- §2 Building blocks, per raw user record.
--   email_domain: lower(email), everything after the FIRST '@'; NULL if no '@'.
--   corporate_domain: email_domain unless it is exactly one of the 5 personal
--   domains. Record activity: min/max/count of events and of 'order_placed'
--   events; all NULL (not 0) when there are none. Events of unknown users are
--   dropped by the join direction (users LEFT JOIN events).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE user_record AS
WITH act AS (
    SELECT e.user_id,
           min(e.timestamp)                                          AS first_event,
           max(e.timestamp)                                          AS most_recent_event,
           count(*)                                                  AS number_of_events,
           min(e.timestamp) FILTER (WHERE e.event_name = 'order_placed') AS first_order,
           max(e.timestamp) FILTER (WHERE e.event_name = 'order_placed') AS most_recent_order,
           count(*)         FILTER (WHERE e.event_name = 'order_placed') AS n_orders
    FROM raw_event e
    GROUP BY e.user_id
), dom AS (
    SELECT u.*,
           CASE WHEN strpos(lower(u.email), '@') > 0
                THEN substr(lower(u.email), strpos(lower(u.email), '@') + 1)
           END AS email_domain
    FROM raw_user u
)
SELECT d.id, d.name, d.email, d.gaggle_id, d.created_at,
       CASE WHEN d.email_domain IN ('gmail.com', 'outlook.com', 'yahoo.com',
                                    'icloud.com', 'hotmail.com')
            THEN NULL ELSE d.email_domain END                      AS corporate_domain,
       a.first_event, a.most_recent_event,
       a.number_of_events,                       -- NULL when no events
       a.first_order, a.most_recent_order,
       nullif(a.n_orders, 0)                     AS number_of_orders  -- NULL when no orders
FROM dom d
LEFT JOIN act a ON a.user_id = d.id;

-- ---------------------------------------------------------------------------
-- §2 User merge. Exact, case-sensitive email matches. A row whose new_email
-- matches no record has no effect; if an old_email is listed twice the
-- smallest EXISTING new_email wins (C6). Applied once, not transitively:
-- every record is assigned to contact id = its survivor's id if folded, else
-- its own id. (With a chain A->B, B->C, A would end in B and B in C; the data
-- has no chains.)
-- ---------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE fold AS
WITH resolved AS (
    SELECT m.old_email, min(m.new_email) AS new_email
    FROM merged_user m
    JOIN raw_user s ON s.email = m.new_email
    GROUP BY m.old_email
)
SELECT o.id AS old_id, s.id AS survivor_id
FROM resolved r
JOIN raw_user o ON o.email = r.old_email
JOIN raw_user s ON s.email = r.new_email
WHERE o.id <> s.id;

CREATE OR REPLACE TEMP TABLE member AS
SELECT coalesce(f.survivor_id, r.id) AS contact_id, r.*
FROM user_record r
LEFT JOIN fold f ON f.old_id = r.id;

-- ---------------------------------------------------------------------------
-- §3 contacts: one row per contact (survivor + its members), key user_id.
--   email / corporate_email from the survivor's own record (C4); no domain map.
--   user_name: member with the latest created_at; ties -> survivor, then the
--   highest id (C3). gaggle_id: numerically largest. created_at: earliest.
--   Activity: min of firsts, MAX of most_recents (Q1), sums (NULL if all NULL).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE contacts AS
SELECT s.id                                     AS user_id,
       s.email                                  AS email,
       s.corporate_domain                       AS corporate_email,
       g.user_name,
       g.gaggle_id,
       g.created_at,
       g.first_event,
       g.most_recent_event,
       g.number_of_events,
       g.first_order,
       g.most_recent_order,
       g.number_of_orders,
       strftime(g.created_at, '%Y-%m-%d')       AS user_cohort
FROM (
    SELECT m.contact_id,
           first(m.name ORDER BY m.created_at DESC,
                                 (m.id = m.contact_id) DESC,
                                 m.id DESC)     AS user_name,
           max(m.gaggle_id)                     AS gaggle_id,
           min(m.created_at)                    AS created_at,
           min(m.first_event)                   AS first_event,
           max(m.most_recent_event)             AS most_recent_event,
           sum(m.number_of_events)::BIGINT      AS number_of_events,
           min(m.first_order)                   AS first_order,
           max(m.most_recent_order)             AS most_recent_order,
           sum(m.number_of_orders)::BIGINT      AS number_of_orders
    FROM member m
    GROUP BY m.contact_id
) g
JOIN user_record s ON s.id = g.contact_id;

-- ---------------------------------------------------------------------------
-- §4 gaggles: key (gaggle_id, corporate_email).
--   Contacts whose gaggle_id is not in raw_gaggle are dropped (inner join);
--   a gaggle without contacts keeps its raw row with number_of_users 0 (C5).
--   gaggle domain = map(contact.corporate_email). One row per distinct
--   non-NULL gaggle domain, or exactly one all-NULL-corporate row if none.
--   Whole-gaggle figures cover all contacts (personal ones too) and are
--   repeated on every row of the gaggle.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE gaggle_contact AS
SELECT c.*,
       coalesce(dm.new_domain, c.corporate_email) AS gaggle_domain
FROM contacts c
JOIN raw_gaggle rg ON rg.id = c.gaggle_id
LEFT JOIN domain_map dm ON dm.old_domain = c.corporate_email;

CREATE OR REPLACE TEMP TABLE gaggles AS
WITH whole AS (
    SELECT rg.id                                  AS gaggle_id,
           rg.name                                AS gaggle_name,
           rg.created_at                          AS created_at,
           min(gc.first_event)                    AS first_event,
           max(gc.most_recent_event)              AS most_recent_event,
           sum(gc.number_of_events)::BIGINT       AS number_of_events,
           count(gc.user_id)                      AS number_of_users,
           min(gc.first_order)                    AS first_order,
           max(gc.most_recent_order)              AS most_recent_order,
           sum(gc.number_of_orders)::BIGINT       AS number_of_orders
    FROM raw_gaggle rg
    LEFT JOIN gaggle_contact gc ON gc.gaggle_id = rg.id
    GROUP BY rg.id, rg.name, rg.created_at
), corp AS (
    SELECT gc.gaggle_id,
           gc.gaggle_domain                       AS corporate_email,
           min(gc.first_event)                    AS first_event_corporate,
           max(gc.most_recent_event)              AS most_recent_event_corporate,
           sum(gc.number_of_events)::BIGINT       AS number_of_events_corporate,
           count(*)                               AS number_of_users_corporate,
           min(gc.first_order)                    AS first_order_corporate,
           max(gc.most_recent_order)              AS most_recent_order_corporate,
           sum(gc.number_of_orders)::BIGINT       AS number_of_orders_corporate
    FROM gaggle_contact gc
    WHERE gc.gaggle_domain IS NOT NULL
    GROUP BY gc.gaggle_id, gc.gaggle_domain
)
-- LEFT JOIN: a gaggle with no corporate domain gets one row with NULL corporate cols.
SELECT w.gaggle_id, w.gaggle_name, w.created_at,
       w.first_event, w.most_recent_event, w.number_of_events, w.number_of_users,
       w.first_order, w.most_recent_order, w.number_of_orders,
       c.corporate_email,
       c.first_event_corporate, c.most_recent_event_corporate,
       c.number_of_events_corporate, c.number_of_users_corporate,
       c.first_order_corporate, c.most_recent_order_corporate,
       c.number_of_orders_corporate
FROM whole w
LEFT JOIN corp c ON c.gaggle_id = w.gaggle_id;

-- ---------------------------------------------------------------------------
-- §5 corporate_accounts: key corporate_email (the account domain).
--   account domain = map(gaggles.corporate_email) (second application of the
--   map, kept as in the original; a no-op on this data).
--   *_corporate: sums / min / max of the rows' corporate figures;
--   *_associated: sums / min / max of the rows' whole-gaggle figures.
-- Power users (Q2, C1, C2): candidates are contacts with non-NULL
--   corporate_email whose map(corporate_email) equals the account domain, in
--   any gaggle. first_user_id: earliest created_at; most_active_user_id:
--   largest number_of_events; most_orders_user_id: largest number_of_orders;
--   NULL counts rank below all non-NULL ones; every tie -> lowest user_id.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE corporate_accounts AS
WITH acct_rows AS (
    SELECT coalesce(dm.new_domain, g.corporate_email) AS account_domain, g.*
    FROM gaggles g
    LEFT JOIN domain_map dm ON dm.old_domain = g.corporate_email
    WHERE g.corporate_email IS NOT NULL
), acct AS (
    SELECT account_domain                               AS corporate_email,
           count(DISTINCT gaggle_id)                    AS number_of_gaggles,
           sum(number_of_users_corporate)::BIGINT       AS number_of_users_corporate,
           sum(number_of_events_corporate)::BIGINT      AS number_of_events_corporate,
           sum(number_of_orders_corporate)::BIGINT      AS number_of_orders_corporate,
           min(first_event_corporate)                   AS first_event_corporate,
           min(first_order_corporate)                   AS first_order_corporate,
           max(most_recent_event_corporate)             AS most_recent_event_corporate,
           max(most_recent_order_corporate)             AS most_recent_order_corporate,
           sum(number_of_users)::BIGINT                 AS number_of_users_associated,
           sum(number_of_events)::BIGINT                AS number_of_events_associated,
           sum(number_of_orders)::BIGINT                AS number_of_orders_associated,
           min(first_event)                             AS first_event_associated,
           min(first_order)                             AS first_order_associated,
           max(most_recent_event)                       AS most_recent_event_associated,
           max(most_recent_order)                       AS most_recent_order_associated
    FROM acct_rows
    GROUP BY account_domain
), candidate AS (
    SELECT coalesce(dm.new_domain, c.corporate_email) AS account_domain, c.*
    FROM contacts c
    LEFT JOIN domain_map dm ON dm.old_domain = c.corporate_email
    WHERE c.corporate_email IS NOT NULL
), power AS (
    SELECT account_domain,
           first(user_id ORDER BY created_at ASC NULLS LAST, user_id ASC)        AS first_user_id,
           first(user_id ORDER BY number_of_events DESC NULLS LAST, user_id ASC) AS most_active_user_id,
           first(user_id ORDER BY number_of_orders DESC NULLS LAST, user_id ASC) AS most_orders_user_id
    FROM candidate
    GROUP BY account_domain
)
SELECT a.*, p.first_user_id, p.most_active_user_id, p.most_orders_user_id
FROM acct a
LEFT JOIN power p ON p.account_domain = a.corporate_email;
