-- company_domains: map(domain) of the JaffleGaggle spec (§2) from Plexus's company groups.
-- Every corporate domain is an identifier of a company group; a domain alias put the old
-- domain into the new domain's group, whose key is the new domain.
SELECT gi.value AS domain, g.key AS company_domain, g.group_id
FROM group_identifiers gi
JOIN groups g ON g.group_id = gi.group_id
WHERE gi.type = 'domain'
