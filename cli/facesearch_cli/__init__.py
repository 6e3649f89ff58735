"""`facesearch`: the command line of a facesearch deployment (bulk indexing, every-face search, export/import,
faces by ExternalImageId, face search in stored videos). A client like any other: boto3 with the user's AWS
settings; not shipped to Lambda."""
