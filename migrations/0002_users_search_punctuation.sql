-- Search that also narrows by punctuation. pg_trgm splits text into words at every
-- character that is not a letter or digit, so in 0001's index "son@" could only be looked
-- up by the trigram "son" (12% of 1M seeded users) and each such search rechecked ~120k
-- rows (0.5 s). Here the punctuation that appears in emails and names is mapped to Greek
-- letters before indexing, which pg_trgm counts as word characters: "son@" becomes "sonα"
-- and its trigram "onα" is rare. Queries apply the same translate() to the term and
-- recheck with plain ILIKE on email and name (src/users/user_store.cpp), so the mapping can
-- only add candidates, never lose a match. The expression must stay exactly this one.
DROP INDEX users_search_trgm;
CREATE INDEX users_search_trgm ON users
    USING gin ((translate(email || ' ' || name, '@.-_+''', 'αβγδεζ')) gin_trgm_ops);
