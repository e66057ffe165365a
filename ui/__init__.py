"""Streamlit building blocks shared by the pages: cached loaders, the sidebar, charts."""
