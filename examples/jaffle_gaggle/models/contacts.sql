-- contacts: one row per person (JaffleGaggle spec §3), key user_id.
-- Plexus resolved the persons: each raw user record is a person identifier (`user_id`),
-- and the merge file joined the folded records to their survivors. A record is folded when
-- its email is the first column of an applied merge rule; the survivor is the person's
-- other record. Activity comes from the person's product events (source `raw_events`).
WITH records AS (
    SELECT u.id, u.name, u.email, u.gaggle_id, u.created_at, pi.person_id
    FROM raw_users u
    JOIN person_identifiers pi ON pi.type = 'user_id' AND pi.value = CAST(u.id AS VARCHAR)
),
folded AS (
    SELECT r.id
    FROM records r
    JOIN identity_rules m ON m.kind = 'merge' AND m.both_seen AND m.from_value = lower(trim(r.email))
),
survivors AS (
    SELECT person_id, min(id) AS user_id
    FROM records
    WHERE id NOT IN (SELECT id FROM folded)
    GROUP BY person_id
),
activity AS (
    SELECT pa.entity_id AS person_id,
           min(e.timestamp) AS first_event,
           max(e.timestamp) AS most_recent_event,
           count(*) AS number_of_events,
           min(CASE WHEN e.name = 'order_placed' THEN e.timestamp END) AS first_order,
           max(CASE WHEN e.name = 'order_placed' THEN e.timestamp END) AS most_recent_order,
           nullif(count(CASE WHEN e.name = 'order_placed' THEN 1 END), 0) AS number_of_orders
    FROM events e
    JOIN participants pa ON pa.event_id = e.event_id
    WHERE e.source = 'raw_events'
    GROUP BY pa.entity_id
),
members AS (
    SELECT r.person_id,
           first_value(r.name) OVER (
               PARTITION BY r.person_id
               ORDER BY r.created_at DESC, CASE WHEN r.id = s.user_id THEN 0 ELSE 1 END, r.id DESC
           ) AS user_name,
           r.gaggle_id, r.created_at
    FROM records r
    JOIN survivors s ON s.person_id = r.person_id
),
merged AS (
    SELECT person_id, max(user_name) AS user_name, max(gaggle_id) AS gaggle_id, min(created_at) AS created_at
    FROM members
    GROUP BY person_id
),
personal_domains AS (
    -- Email domains Plexus saw but formed no company from: the project's personal domains.
    -- (The spec's corporate domain is the raw text after the `@`, even for an address
    -- Plexus rejects as an identifier, such as `ashleyhammonds@nopain,nogain.com`.)
    SELECT DISTINCT split_part(value, '@', 2) AS domain
    FROM person_identifiers
    WHERE type = 'email'
      AND split_part(value, '@', 2) NOT IN (SELECT value FROM group_identifiers WHERE type = 'domain')
)
SELECT s.user_id,
       su.email,
       CASE WHEN strpos(su.email, '@') > 0 AND pd.domain IS NULL
            THEN substr(lower(su.email), strpos(su.email, '@') + 1)
       END AS corporate_email,
       m.user_name,
       m.gaggle_id,
       m.created_at,
       a.first_event,
       a.most_recent_event,
       a.number_of_events,
       a.first_order,
       a.most_recent_order,
       a.number_of_orders
FROM survivors s
JOIN raw_users su ON su.id = s.user_id
JOIN merged m ON m.person_id = s.person_id
LEFT JOIN activity a ON a.person_id = s.person_id
LEFT JOIN personal_domains pd ON pd.domain = substr(lower(su.email), strpos(su.email, '@') + 1)
ORDER BY s.user_id
