-- gaggles: gaggle facts (JaffleGaggle spec §4), key (gaggle_id, corporate_email).
-- A contact's gaggle domain is its corporate domain mapped through Plexus's company groups
-- (domain aliases applied). One row per distinct gaggle domain; a gaggle with no corporate
-- contact gets one row with NULL corporate columns.
WITH gaggle_contact AS (
    SELECT c.*, coalesce(cd.company_domain, c.corporate_email) AS gaggle_domain
    FROM contacts c
    JOIN raw_gaggles rg ON rg.id = c.gaggle_id
    LEFT JOIN company_domains cd ON cd.domain = c.corporate_email
),
whole AS (
    SELECT rg.id AS gaggle_id, rg.name AS gaggle_name, rg.created_at,
           min(gc.first_event) AS first_event,
           max(gc.most_recent_event) AS most_recent_event,
           sum(gc.number_of_events) AS number_of_events,
           count(gc.user_id) AS number_of_users,
           min(gc.first_order) AS first_order,
           max(gc.most_recent_order) AS most_recent_order,
           sum(gc.number_of_orders) AS number_of_orders
    FROM raw_gaggles rg
    LEFT JOIN gaggle_contact gc ON gc.gaggle_id = rg.id
    GROUP BY rg.id, rg.name, rg.created_at
),
corp AS (
    SELECT gaggle_id, gaggle_domain AS corporate_email,
           min(first_event) AS first_event_corporate,
           max(most_recent_event) AS most_recent_event_corporate,
           sum(number_of_events) AS number_of_events_corporate,
           count(*) AS number_of_users_corporate,
           min(first_order) AS first_order_corporate,
           max(most_recent_order) AS most_recent_order_corporate,
           sum(number_of_orders) AS number_of_orders_corporate
    FROM gaggle_contact
    WHERE gaggle_domain IS NOT NULL
    GROUP BY gaggle_id, gaggle_domain
)
SELECT w.gaggle_id, w.gaggle_name, w.created_at,
       w.first_event, w.most_recent_event, w.number_of_events, w.number_of_users,
       w.first_order, w.most_recent_order, w.number_of_orders,
       c.corporate_email,
       c.first_event_corporate, c.most_recent_event_corporate,
       c.number_of_events_corporate, c.number_of_users_corporate,
       c.first_order_corporate, c.most_recent_order_corporate,
       c.number_of_orders_corporate
FROM whole w
LEFT JOIN corp c ON c.gaggle_id = w.gaggle_id
ORDER BY w.gaggle_id, c.corporate_email
