"""Mail -> signals: parsing, cleaning, job-mail classification, the spaCy rule pipeline."""
