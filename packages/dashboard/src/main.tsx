import { createRoot } from 'react-dom/client';
import { App } from './App';
import { readLook } from './api';
import { chooseLocale } from './i18n';
import './styles.css';

chooseLocale(readLook().locale);
createRoot(document.getElementById('root')!).render(<App />);
