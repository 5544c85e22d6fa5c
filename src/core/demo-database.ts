import pg from 'pg';
import { ensureDatabase } from '../store/db.js';

/**
 * A small database shaped like SOP-001's Conitrack system (section 2): the tables the SOP names, with
 * sequences, a view, a function, non-ASCII text, bytea and jsonb. The quickstart's client `demo` backs
 * it up; tests use it as a realistic source.
 */
const SAMPLE_SCHEMA_SQL = `
CREATE TABLE roles (id serial PRIMARY KEY, nombre text NOT NULL UNIQUE);
CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL UNIQUE, nombre text NOT NULL, role_id int REFERENCES roles(id),
  activo boolean NOT NULL DEFAULT true, admin boolean NOT NULL DEFAULT false, creado timestamptz NOT NULL DEFAULT now());
CREATE TABLE password_history (id serial PRIMARY KEY, user_id int REFERENCES users(id), hash bytea NOT NULL, creado timestamptz NOT NULL DEFAULT now());
CREATE TABLE proveedores (id serial PRIMARY KEY, razon_social text NOT NULL, cuit text, datos jsonb NOT NULL DEFAULT '{}');
CREATE TABLE productos (id serial PRIMARY KEY, codigo text NOT NULL UNIQUE, descripcion text NOT NULL, proveedor_id int REFERENCES proveedores(id), precio numeric(12,2));
CREATE TABLE lotes (id serial PRIMARY KEY, producto_id int REFERENCES productos(id), numero text NOT NULL, vencimiento date, cantidad int NOT NULL, estado text NOT NULL DEFAULT 'liberado');
CREATE TABLE bultos (id serial PRIMARY KEY, lote_id int REFERENCES lotes(id), etiqueta text NOT NULL, peso_kg numeric(8,3));
CREATE TABLE movimientos (id bigserial PRIMARY KEY, lote_id int REFERENCES lotes(id), tipo text NOT NULL, cantidad int NOT NULL, fecha timestamptz NOT NULL DEFAULT now(), user_id int REFERENCES users(id), nota text);
CREATE TABLE detalle_movimientos (id bigserial PRIMARY KEY, movimiento_id bigint REFERENCES movimientos(id), bulto_id int REFERENCES bultos(id), cantidad int NOT NULL);
CREATE TABLE analisis (id serial PRIMARY KEY, lote_id int REFERENCES lotes(id), resultado text NOT NULL, datos jsonb, firmado_por int REFERENCES users(id));
CREATE TABLE trazas (id bigserial PRIMARY KEY, lote_id int REFERENCES lotes(id), evento text NOT NULL, payload jsonb, fecha timestamptz NOT NULL DEFAULT now());
CREATE TABLE auditoria_accesos (id bigserial PRIMARY KEY, user_id int REFERENCES users(id), accion text NOT NULL, fecha timestamptz NOT NULL DEFAULT now());
CREATE TABLE configuracion (clave text PRIMARY KEY, valor text NOT NULL);
CREATE TABLE alertas (id serial PRIMARY KEY, mensaje text NOT NULL, nivel text NOT NULL, creada timestamptz NOT NULL DEFAULT now());
CREATE TABLE revinfo (rev serial PRIMARY KEY, revtstmp bigint NOT NULL);
CREATE TABLE lotes_aud (id int NOT NULL, rev int NOT NULL REFERENCES revinfo(rev), revtype smallint, numero text, cantidad int, PRIMARY KEY (id, rev));
CREATE VIEW stock_por_producto AS
  SELECT p.codigo, p.descripcion, coalesce(sum(l.cantidad), 0) AS stock FROM productos p LEFT JOIN lotes l ON l.producto_id = p.id GROUP BY p.codigo, p.descripcion;
CREATE FUNCTION stock_de(p_codigo text) RETURNS bigint LANGUAGE sql STABLE AS
  $fn$ SELECT stock FROM stock_por_producto WHERE codigo = p_codigo $fn$;
`;

const SAMPLE_DATA_SQL = `
INSERT INTO roles (nombre) VALUES ('admin'), ('operador'), ('qa'), ('auditor');
INSERT INTO users (username, nombre, role_id, admin) VALUES
  ('admin', 'Administración General', 1, true), ('mgarcia', 'María García Núñez', 2, false), ('jpérez', 'José Pérez', 3, false), ('auditor1', 'Auditoría ANMAT', 4, false);
INSERT INTO password_history (user_id, hash) SELECT id, decode(md5(username), 'hex') || '\\x00ff'::bytea FROM users;
INSERT INTO proveedores (razon_social, cuit, datos) VALUES
  ('Laboratorios Andinos S.A.', '30-12345678-9', '{"pais": "Argentina", "certificaciones": ["GMP", "ISO 9001"], "contacto": {"nombre": "Ñandú", "tel": null}}'),
  ('Farmacéutica del Sur', '30-87654321-0', '{"pais": "Chile", "notas": "entrega “urgente” ✓"}');
INSERT INTO productos (codigo, descripcion, proveedor_id, precio)
  SELECT 'P' || lpad(g::text, 4, '0'), 'Producto nº ' || g || ' – ibuprofeno ' || (g * 100) || ' mg', 1 + g % 2, (g * 13.37)::numeric(12,2) FROM generate_series(1, 40) g;
INSERT INTO lotes (producto_id, numero, vencimiento, cantidad)
  SELECT 1 + g % 40, 'L-2026-' || lpad(g::text, 5, '0'), DATE '2027-01-01' + g, 100 + g FROM generate_series(1, 200) g;
INSERT INTO bultos (lote_id, etiqueta, peso_kg) SELECT 1 + g % 200, 'B' || g, (g % 50) / 3.0 FROM generate_series(1, 400) g;
INSERT INTO movimientos (lote_id, tipo, cantidad, fecha, user_id, nota)
  SELECT 1 + g % 200, CASE WHEN g % 3 = 0 THEN 'egreso' ELSE 'ingreso' END, 1 + g % 17, now() - (g || ' hours')::interval, 1 + g % 4,
         CASE WHEN g % 10 = 0 THEN 'revisión año ' || g ELSE NULL END
  FROM generate_series(1, 1000) g;
INSERT INTO detalle_movimientos (movimiento_id, bulto_id, cantidad) SELECT g, 1 + g % 400, 1 FROM generate_series(1, 1000) g;
INSERT INTO analisis (lote_id, resultado, datos, firmado_por) SELECT g, 'aprobado', jsonb_build_object('pH', 7.0 + g / 100.0, 'ok', true), 3 FROM generate_series(1, 50) g;
INSERT INTO trazas (lote_id, evento, payload) SELECT 1 + g % 200, 'recepción', jsonb_build_object('n', g) FROM generate_series(1, 300) g;
INSERT INTO auditoria_accesos (user_id, accion) SELECT 4, 'consulta registro ' || g FROM generate_series(1, 20) g;
INSERT INTO configuracion (clave, valor) VALUES ('empresa', 'Conitrack Demo'), ('zona_horaria', 'America/Argentina/Buenos_Aires');
INSERT INTO alertas (mensaje, nivel) VALUES ('Stock bajo en P0001', 'media');
INSERT INTO revinfo (revtstmp) SELECT 1700000000000 + g FROM generate_series(1, 10) g;
INSERT INTO lotes_aud (id, rev, revtype, numero, cantidad) SELECT g, g, 0, 'L-2026-' || lpad(g::text, 5, '0'), 100 + g FROM generate_series(1, 10) g;
`;

/** The tables of the sample database (for verify.tables and tests). */
export const SAMPLE_TABLES = ['roles', 'users', 'password_history', 'proveedores', 'productos', 'lotes', 'bultos', 'movimientos', 'detalle_movimientos', 'analisis', 'trazas', 'auditoria_accesos', 'configuracion', 'alertas', 'revinfo', 'lotes_aud'];

/** Fills an empty PostgreSQL database with the sample schema and data. */
export async function fillSampleDatabase(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(SAMPLE_SCHEMA_SQL);
    await c.query(SAMPLE_DATA_SQL);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await c.end();
  }
}

/** Creates the demo database with sample data if it is missing (or empty); returns true when it did. */
export async function prepareDemoDatabase(url: string): Promise<boolean> {
  await ensureDatabase(url);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let empty: boolean;
  try {
    const r = await c.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'");
    empty = Number(r.rows[0]!.n) === 0;
  } finally {
    await c.end();
  }
  if (empty) await fillSampleDatabase(url);
  return empty;
}
