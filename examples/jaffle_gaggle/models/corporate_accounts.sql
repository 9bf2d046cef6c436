-- corporate_accounts: one row per company (JaffleGaggle spec §5), key corporate_email.
-- The account domain maps the gaggle rows' domain once more (a no-op on this data, kept as
-- the original does). Power users are chosen among contacts whose mapped corporate domain
-- is the account's (Q2); NULL counts rank last (C1); ties go to the lowest user_id (C2).
WITH acct_rows AS (
    SELECT coalesce(cd.company_domain, g.corporate_email) AS account_domain, g.*
    FROM gaggles g
    LEFT JOIN company_domains cd ON cd.domain = g.corporate_email
    WHERE g.corporate_email IS NOT NULL
),
acct AS (
    SELECT account_domain AS corporate_email,
           count(DISTINCT gaggle_id) AS number_of_gaggles,
           sum(number_of_users_corporate) AS number_of_users_corporate,
           sum(number_of_events_corporate) AS number_of_events_corporate,
           sum(number_of_orders_corporate) AS number_of_orders_corporate,
           min(first_event_corporate) AS first_event_corporate,
           min(first_order_corporate) AS first_order_corporate,
           max(most_recent_event_corporate) AS most_recent_event_corporate,
           max(most_recent_order_corporate) AS most_recent_order_corporate,
           sum(number_of_users) AS number_of_users_associated,
           sum(number_of_events) AS number_of_events_associated,
           sum(number_of_orders) AS number_of_orders_associated,
           min(first_event) AS first_event_associated,
           min(first_order) AS first_order_associated,
           max(most_recent_event) AS most_recent_event_associated,
           max(most_recent_order) AS most_recent_order_associated
    FROM acct_rows
    GROUP BY account_domain
),
candidate AS (
    SELECT coalesce(cd.company_domain, c.corporate_email) AS account_domain, c.*
    FROM contacts c
    LEFT JOIN company_domains cd ON cd.domain = c.corporate_email
    WHERE c.corporate_email IS NOT NULL
),
ranked AS (
    SELECT account_domain, user_id,
           row_number() OVER (PARTITION BY account_domain ORDER BY created_at ASC NULLS LAST, user_id) AS by_first,
           row_number() OVER (PARTITION BY account_domain ORDER BY number_of_events DESC NULLS LAST, user_id) AS by_events,
           row_number() OVER (PARTITION BY account_domain ORDER BY number_of_orders DESC NULLS LAST, user_id) AS by_orders
    FROM candidate
),
power AS (
    SELECT account_domain,
           max(CASE WHEN by_first = 1 THEN user_id END) AS first_user_id,
           max(CASE WHEN by_events = 1 THEN user_id END) AS most_active_user_id,
           max(CASE WHEN by_orders = 1 THEN user_id END) AS most_orders_user_id
    FROM ranked
    GROUP BY account_domain
)
SELECT a.*, p.first_user_id, p.most_active_user_id, p.most_orders_user_id
FROM acct a
LEFT JOIN power p ON p.account_domain = a.corporate_email
ORDER BY a.corporate_email
