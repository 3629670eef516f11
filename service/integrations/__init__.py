"""semsearch in RAG frameworks: :mod:`.langchain` (``pip install 'semsearch[langchain]'``),
:mod:`.llamaindex` (``pip install 'semsearch[llamaindex]'``) and :mod:`.haystack`
(``pip install 'semsearch[haystack]'``). Each speaks to a running service over HTTP through
:mod:`service.client`."""
